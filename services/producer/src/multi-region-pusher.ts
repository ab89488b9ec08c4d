import { createHash } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { isTransientAwsError } from '@records/aws-clients';
import { retry } from '@records/retry';
import type { Deadline } from './deadline.js';
import { HandoffBacklogFullError, StreamBacklogError, StreamUnavailableError } from './errors.js';
import type { HandoffBacklog } from './handoff/handoff-backlog.js';
import type { HandoffStore, StoredHandoffEntry } from './handoff/handoff-store.js';
import { BrokenCircuitError, type RegionBreakers } from './handoff/region-breakers.js';
import type { ProducerMetrics } from './metrics.js';
import { PutRecordsBatcher, type PutRecordsBatcherOptions, type PutRecordsObserver } from './put-records-batcher.js';
import type { StreamPosition } from './stream-position.js';

export interface MultiRegionPusherOptions {
  readonly regions: readonly string[];
  readonly streamName: string;
  readonly kinesis: (region: string) => KinesisClient;
  readonly metrics?: ProducerMetrics;
  readonly logger?: { warn(object: object, message: string): void };
  /** How records are grouped into PutRecords calls, per region. */
  readonly batching: Pick<PutRecordsBatcherOptions, 'lingerMs' | 'maxLingerMs' | 'maxRecords' | 'maxBytes' | 'pacing'>;
  /** The clock the waits of pushes in flight are measured on (performance.now by default); tests step it. */
  readonly now?: () => number;
  /** Without it, a record is acknowledged only once every region's stream took it. */
  readonly handoff?: PusherHandoff;
  /** Per region, sees the timing of every PutRecords call (the producer's clock check). */
  readonly observer?: (region: string) => PutRecordsObserver;
}

/** Acknowledging a record that some regions have not taken yet, once it waits for them in a hand-off table. */
export interface PusherHandoff {
  /** Each region's hand-off table. */
  readonly store: (region: string) => HandoffStore;
  readonly backlog: HandoffBacklog;
  readonly breakers: RegionBreakers;
  /** How long a region is tried before the record waits for it in hand-off instead. */
  readonly afterMs: number;
  /** Wall-clock ms, for each entry's `createdAt`. */
  readonly now: () => number;
}

/** What a push did: where each region that took the record holds it, and the regions it waits for in hand-off. */
export interface PushResult {
  readonly regions: Record<string, StreamPosition>;
  /** Regions whose stream has not taken the record yet; a hand-off entry will deliver it there. */
  readonly pending: readonly string[];
}

/**
 * A hash of the record id: spread over the shards as evenly as a random key would be (ids are
 * UUIDs or otherwise distinct), but the same id always lands on the same shard, so a record
 * posted again after its 201 is written after the earlier version in every region.
 */
export function partitionKey(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Unknown';
}

/**
 * Aborts once HANDOFF_AFTER_MS has passed and at least one region took the record, whichever of
 * the two comes last: the regions still trying then are handed off.
 */
class HandoffCut {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #due = false;
  #held = false;

  constructor(afterMs: number) {
    this.#timer = setTimeout(() => {
      this.#due = true;
      this.#abortIfBoth();
    }, afterMs);
    this.#timer.unref();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  accepted(): void {
    this.#held = true;
    this.#abortIfBoth();
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }

  #abortIfBoth(): void {
    if (this.#due && this.#held && !this.#controller.signal.aborted) {
      this.#controller.abort(new DOMException('the hand-off wait is over', 'TimeoutError'));
    }
  }
}

/**
 * Puts one ciphertext to the stream of every region at once. Without hand-off it succeeds only when
 * every region took the record; with it, once one region took it and every other has a hand-off
 * entry. A region that fails or stays silent is retried, with back-off, until the request's deadline
 * (with hand-off, HANDOFF_AFTER_MS once another region holds the record); then the push fails naming the regions that took the record and
 * those that did not, and the client retries with the same id.
 */
export class MultiRegionPusher {
  readonly #options: MultiRegionPusherOptions;
  // One batcher per region: a slow region's calls never hold back another region's.
  readonly #batchers = new Map<string, PutRecordsBatcher>();
  // Per region, when each unfinished push began, oldest first (a Map keeps insertion order).
  readonly #pending = new Map<string, Map<object, number>>();

  readonly #now: () => number;

  constructor(options: MultiRegionPusherOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.#options = options;
  }

  #batcher(region: string): PutRecordsBatcher {
    let batcher = this.#batchers.get(region);
    if (batcher === undefined) {
      batcher = new PutRecordsBatcher({
        kinesis: this.#options.kinesis(region),
        streamName: this.#options.streamName,
        ...this.#options.batching,
        ...(this.#options.observer === undefined ? {} : { observer: this.#options.observer(region) }),
        ...(this.#options.now === undefined ? {} : { now: this.#options.now }),
        ...(this.#options.handoff === undefined
          ? {}
          : {
              guard: <T>(call: () => Promise<T>) =>
                (this.#options.handoff as PusherHandoff).breakers.execute(region, call),
            }),
      });
      this.#batchers.set(region, batcher);
    }
    return batcher;
  }

  #pendingIn(region: string): Map<object, number> {
    let pending = this.#pending.get(region);
    if (pending === undefined) {
      pending = new Map();
      this.#pending.set(region, pending);
    }
    return pending;
  }

  async #track<T>(region: string, token: object, since: number, push: () => Promise<T>): Promise<T> {
    const pending = this.#pendingIn(region);
    pending.set(token, since);
    try {
      return await push();
    } finally {
      pending.delete(token);
    }
  }

  /**
   * Starts listing every region's shard map, without waiting for it. Until a region's map is known
   * its records are not paced: a burst at start would go out in calls past the shards' limits
   * (seen on pnpm start: 100 records of 50 KB in one 5 MB call per region, which kinesis-local took
   * over 10 s to answer).
   */
  listShards(): void {
    for (const region of this.#options.regions) this.#batcher(region).listShards();
  }

  /** Sends what every region has queued, without waiting out the linger time. */
  flush(): void {
    for (const batcher of this.#batchers.values()) batcher.flush();
  }

  /**
   * Puts one record to one region's stream, retried until `signal` aborts. Each attempt may linger
   * in its batch at most half of what is left of `deadline`, so the call keeps the rest.
   */
  #putTo(
    region: string,
    id: string,
    key: string,
    ciphertext: Uint8Array,
    signal: AbortSignal,
    deadline?: Deadline,
  ): Promise<StreamPosition> {
    const { logger } = this.#options;
    const sendWithinMs = () => (deadline === undefined ? undefined : deadline.remainingMs() / 2);
    return retry(() => this.#batcher(region).put(ciphertext, key, signal, sendWithinMs()), {
      attempts: Number.POSITIVE_INFINITY,
      minDelayMs: 100,
      maxDelayMs: 2_000,
      signal,
      // A refusal that says the request itself is wrong is not tried again, nor a call the region's
      // open breaker turned away: the record then waits for the region in hand-off.
      shouldRetry: (error) => !(error instanceof BrokenCircuitError) && isTransientAwsError(error),
      onRetry: (error, attempt) =>
        logger?.warn({ id, region, attempt, reason: errorName(error) }, 'put to region stream failed; retrying'),
    });
  }

  /** A hand-off entry's record, put to its target region through the region's breaker (the repairer's probe). */
  async deliver(target: string, entry: StoredHandoffEntry, signal: AbortSignal): Promise<void> {
    // The region's breaker guards each call: while it is open this is the half-open probe.
    await this.#putTo(target, entry.id, partitionKey(entry.id), entry.ciphertext, signal);
    this.#options.metrics?.kinesisPuts.inc({ region: target, outcome: 'delivered' });
  }

  /**
   * Throws as `push` would turn a record of `bytes` for `id` away now (a region behind, or a
   * hand-off backlog full), so the ingestor can ask before it spends the encryption: a record
   * refused after it was encrypted had cost its CPU and its wait for nothing. The plaintext's size
   * stands in for the ciphertext's, a little larger; the push asks again with the ciphertext.
   */
  admit(id: string, bytes: number, deadline: Deadline): void {
    this.#admit(partitionKey(id), bytes, deadline);
  }

  /**
   * A region that is behind turns the record away now, before any region has it: OVERLOADED at
   * once rather than STREAM_UNAVAILABLE after the budget. Behind means the record would wait more
   * than a quarter of the budget: for its shard, by the shard's documented limits; or behind all
   * the region has in hand, at the pace its stream answered since its oldest unanswered call went
   * out (the stream is slower than what is sent to it, whatever the cause, and is so measured while
   * the pile grows, before it outlives its budget); or the oldest unfinished push to the region has
   * already waited that long. With hand-off, a region that is behind, or whose breaker is open, is
   * not put to: the record waits for it in hand-off (the regions returned), unless every region is
   * behind.
   */
  #admit(key: string, bytes: number, deadline: Deadline): string[] {
    const { regions, metrics, handoff } = this.#options;
    const now = this.#now();
    const waits = regions.map((region) =>
      Math.max(
        this.#batcher(region).queueWaitMs(key, bytes),
        now - (this.#pendingIn(region).values().next().value ?? now),
      ),
    );
    const backlogged = regions.filter((_region, index) => (waits[index] ?? 0) > deadline.budgetMs / 4);
    // While every region's breaker is open, records are tried all the same (the breaker turns them
    // away at once until a call may probe): with no region to take them there is nothing to hand
    // off, and no entry whose delivery would probe.
    const open = handoff === undefined ? [] : regions.filter((region) => handoff.breakers.isOpen(region));
    const skipped =
      handoff === undefined
        ? []
        : regions.filter(
            (region) => backlogged.includes(region) || (open.length < regions.length && open.includes(region)),
          );
    if (handoff === undefined ? backlogged.length > 0 : skipped.length === regions.length) {
      for (const region of backlogged) metrics?.kinesisPuts.inc({ region, outcome: 'backlogged' });
      // A stream far behind can estimate a wait of many budgets: the hint is at most one.
      throw new StreamBacklogError(Math.min(Math.max(...waits), deadline.budgetMs));
    }
    for (const region of skipped) {
      if (!handoff?.backlog.admits(region, bytes)) throw new HandoffBacklogFullError(region);
    }
    return skipped;
  }

  async push(id: string, ciphertext: Uint8Array, version: string, deadline: Deadline): Promise<PushResult> {
    const { regions, metrics, logger, handoff } = this.#options;
    const key = partitionKey(id);
    const now = this.#now();
    const skipped = this.#admit(key, ciphertext.byteLength, deadline);
    // The request's deadline for every region: each is retried within what is left of it, and a
    // silent one is cut off at it. With hand-off, a region still trying once HANDOFF_AFTER_MS has
    // passed and another region holds the record is cut off then, and waits in hand-off; while no
    // region holds it, every region keeps its whole budget, as there is nowhere to hand off from.
    const cut = handoff === undefined ? undefined : new HandoffCut(handoff.afterMs);
    const signal = cut === undefined ? deadline.signal : AbortSignal.any([deadline.signal, cut.signal]);
    const token = {};
    const tried = regions.filter((region) => !skipped.includes(region));
    const results = await Promise.allSettled(
      tried.map((region) =>
        // Only this record is tried again when its entry, or its whole call, failed.
        this.#track(region, token, now, async () => {
          const position = await this.#putTo(region, id, key, ciphertext, signal, deadline);
          cut?.accepted();
          return position;
        }),
      ),
    ).finally(() => cut?.dispose());
    const positions: Record<string, StreamPosition> = {};
    const failed: string[] = [...skipped];
    results.forEach((result, index) => {
      const region = tried[index] as string;
      metrics?.kinesisPuts.inc({ region, outcome: result.status === 'fulfilled' ? 'success' : 'error' });
      if (result.status === 'fulfilled') positions[region] = result.value;
      else {
        failed.push(region);
        logger?.warn({ id, region, reason: errorName(result.reason) }, 'put to region stream failed');
      }
    });
    const accepted = Object.keys(positions);
    if (failed.length > 0 && (handoff === undefined || accepted.length === 0)) {
      const cause = results.find((result) => result.status === 'rejected')?.reason;
      throw new StreamUnavailableError(id, failed, { cause, acceptedRegions: accepted });
    }
    if (handoff !== undefined && failed.length > 0)
      await this.#handOff(handoff, { id, version, ciphertext }, failed, accepted, deadline.signal);
    return { regions: positions, pending: failed };
  }

  /**
   * Writes a hand-off entry for each region that did not take the record, into the table of a
   * region that did (then any other region's), within the hand-off budget. Only once every entry is
   * written is the record acknowledged; otherwise the answer is STREAM_UNAVAILABLE, as without hand-off.
   */
  async #handOff(
    handoff: PusherHandoff,
    record: { id: string; version: string; ciphertext: Uint8Array },
    targets: readonly string[],
    accepted: readonly string[],
    signal: AbortSignal,
  ): Promise<void> {
    const { regions, metrics, logger } = this.#options;
    for (const target of targets) {
      if (!handoff.backlog.admits(target, record.ciphertext.byteLength)) throw new HandoffBacklogFullError(target);
      const tables = [...accepted, ...regions.filter((region) => !accepted.includes(region))].filter(
        (region) => region !== target,
      );
      let written: string | undefined;
      let lastError: unknown;
      for (const tableRegion of tables) {
        const createdAt = handoff.now();
        try {
          await handoff.store(tableRegion).put({ target, ...record, createdAt }, signal);
          handoff.backlog.added(target, tableRegion, record.ciphertext.byteLength, createdAt);
          written = tableRegion;
          break;
        } catch (error) {
          lastError = error;
          logger?.warn(
            { id: record.id, target, table: tableRegion, reason: errorName(error) },
            'hand-off write failed',
          );
        }
      }
      metrics?.handoffWrites.inc({ target_region: target, outcome: written === undefined ? 'error' : 'success' });
      if (written === undefined) {
        throw new StreamUnavailableError(record.id, targets, { cause: lastError, acceptedRegions: accepted });
      }
    }
  }
}
