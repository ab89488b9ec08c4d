import type { Logger } from '@records/observability';
import { LeaseLostError } from './errors.js';
import type { HeldLeases } from './held-leases.js';
import { isExpired, isReadable, leasesToTake, type Sighting } from './lease-balance.js';
import type { Lease, LeaseStore } from './lease-store.js';
import type { ConsumerMetrics } from './metrics.js';

export interface LeaseTakerOptions {
  /** This consumer's WORKER_ID. */
  readonly me: string;
  readonly region: string;
  readonly store: Pick<LeaseStore, 'take' | 'requestHandoff' | 'release'>;
  readonly held: HeldLeases;
  readonly leaseDurationMs: number;
  /** Time between rounds, when no lease this consumer watches expires sooner. */
  readonly roundMs: number;
  /** Bounds each take and handoff request. */
  readonly writeTimeoutMs: number;
  readonly now: () => number;
  readonly metrics: Pick<ConsumerMetrics, 'leaseTakeovers'>;
  readonly logger: Pick<Logger, 'info'>;
  /** Starts reading a lease just taken; `takenAt` is when the take was sent. */
  readonly startReading: (lease: Lease, takenAt: number) => void;
}

/**
 * Decides, from the lease table read at each round, what this consumer takes and gives, as KCL's
 * LeaseTaker does: it watches the counters of others' leases (a lease whose counter has not moved
 * for a lease duration, by this consumer's clock, has expired), hands over what it is asked for,
 * takes its fair share, and asks the busiest consumer for a lease to balance the fleet.
 */
export class LeaseTaker {
  readonly #options: LeaseTakerOptions;
  readonly #sightings = new Map<string, Sighting>();
  // Leases this consumer asked another for, and when (by its own clock).
  readonly #asked = new Map<string, number>();
  #unowned: string[] = [];

  constructor(options: LeaseTakerOptions) {
    this.#options = options;
  }

  /** Readable shards nobody live read at the last round (free, expired, or left under this consumer's name). */
  unowned(): readonly string[] {
    return this.#unowned;
  }

  /** Rows removed from the table: nothing is remembered of them. */
  forget(shardIds: readonly string[]): void {
    for (const shardId of shardIds) {
      this.#sightings.delete(shardId);
      this.#asked.delete(shardId);
    }
  }

  /**
   * One round over the rows just read; resolves with the time until the next round is due (sooner
   * than `roundMs` when a watched lease expires before). While `stopping`, it only lets go of
   * leases handed to it meanwhile.
   */
  async round(rows: readonly Lease[], stopping: boolean): Promise<number> {
    const { me, held, now: clock, leaseDurationMs } = this.#options;
    const now = clock();
    for (const lease of this.#watch(rows, now)) {
      this.#asked.delete(lease.shardId);
      // Handed over as this consumer stops: let it go again rather than leave it to expire.
      if (stopping && lease.owner === me) await this.#options.store.release(lease, this.#bound()).catch(() => {});
      else if (!stopping) await this.#take(lease, 'stolen');
    }
    if (stopping) return this.#options.roundMs;
    const byShard = new Map(rows.map((row) => [row.shardId, row]));
    this.#unowned = rows
      .filter((row) => isReadable(row, byShard) && !held.has(row.shardId))
      .filter(
        (row) => row.owner === undefined || row.owner === me || isExpired(row, this.#sightings, now, leaseDurationMs),
      )
      .map((row) => row.shardId);
    const claimed = held
      .entries()
      .filter(([, entry]) => entry.handOverTo === undefined)
      .map(([shardId]) => shardId);
    const takes = leasesToTake({
      me,
      leases: rows,
      held: new Set([...claimed, ...this.#asked.keys()]),
      sightings: this.#sightings,
      now,
      leaseDurationMs,
    });
    for (const { lease, from } of takes) {
      if (from === 'stolen') await this.#ask(lease, now);
      else await this.#take(lease, from);
    }
    return this.#nextRoundMs(rows, now);
  }

  /**
   * Notes who changed what since the last round; stops reading leases another consumer took; starts
   * handing over leases asked for. Returns the leases handed to this consumer (or overdue from their
   * owner) since it asked.
   */
  #watch(rows: readonly Lease[], now: number): Lease[] {
    const { me, held, leaseDurationMs, logger } = this.#options;
    const handedOver: Lease[] = [];
    for (const row of rows) {
      const seen = this.#sightings.get(row.shardId);
      if (seen === undefined || seen.counter !== row.counter)
        this.#sightings.set(row.shardId, { counter: row.counter, since: now });
      const entry = held.get(row.shardId);
      if (entry !== undefined && row.owner !== me) held.lose(entry, `taken by ${row.owner ?? 'nobody'}`);
      else if (entry !== undefined && row.nextOwner !== undefined && entry.handOverTo === undefined) {
        // Asked for: stop reading; the batch in hand is finished and checkpointed, then handed over.
        entry.handOverTo = row.nextOwner;
        entry.read.abort();
        logger.info({ shardId: row.shardId, to: row.nextOwner }, 'lease asked for; handing it over');
      }
      const askedAt = this.#asked.get(row.shardId);
      if (askedAt === undefined || entry !== undefined) continue;
      if (row.owner === me && row.checkpoint.kind !== 'shard-end') handedOver.push(row);
      // Not handed over within a lease duration (its batch keeps failing): taken as KCL 2 takes.
      else if (row.nextOwner === me && now - askedAt > leaseDurationMs) handedOver.push(row);
      else if (row.nextOwner !== me) this.#asked.delete(row.shardId);
    }
    return handedOver;
  }

  /** A lease that expires before the next round is taken the moment it does, not up to a round later. */
  #nextRoundMs(rows: readonly Lease[], now: number): number {
    const { me, leaseDurationMs } = this.#options;
    let nextMs = this.#options.roundMs;
    for (const row of rows) {
      const seen = this.#sightings.get(row.shardId);
      if (row.owner === undefined || row.owner === me || seen === undefined) continue;
      const expiresInMs = seen.since + leaseDurationMs - now;
      if (expiresInMs >= 0) nextMs = Math.min(nextMs, Math.ceil(expiresInMs) + 1);
    }
    return nextMs;
  }

  async #take(lease: Lease, from: 'free' | 'expired' | 'stolen'): Promise<void> {
    const { me, region, metrics, logger } = this.#options;
    const takenAt = this.#options.now();
    try {
      const taken = await this.#options.store.take(lease, me, this.#bound());
      metrics.leaseTakeovers.inc({ region, from });
      logger.info({ shardId: lease.shardId, from, previousOwner: lease.owner }, 'lease taken');
      this.#options.startReading(taken, takenAt);
    } catch (error) {
      // Another consumer was quicker; the next round sees who.
      if (!(error instanceof LeaseLostError)) throw error;
    }
  }

  async #ask(lease: Lease, now: number): Promise<void> {
    try {
      await this.#options.store.requestHandoff(lease, this.#options.me, this.#bound());
      this.#asked.set(lease.shardId, now);
      this.#options.logger.info(
        { shardId: lease.shardId, owner: lease.owner },
        'lease asked for, to balance the fleet',
      );
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
    }
  }

  #bound() {
    return { abortSignal: AbortSignal.timeout(this.#options.writeTimeoutMs) };
  }
}
