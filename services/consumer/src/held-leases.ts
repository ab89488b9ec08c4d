import type { Logger } from '@records/observability';
import { LeaseLostError } from './errors.js';
import type { Lease, WriteOptions } from './lease-store.js';

/** One lease this consumer holds, and the reading of its shard. */
export interface HeldLease {
  lease: Lease;
  /** Stops reading (a stop, a handoff); the batch in hand is still finished. */
  readonly read: AbortController;
  /** Gives up the batch in hand too (the lease was lost, or the grace time ran out). */
  readonly finish: AbortController;
  /**
   * When the last write that landed was sent, by this consumer's clock. Another consumer starts its
   * lease-duration count only once it sees that write, so counting from its sending is on the safe side.
   */
  confirmedAt: number;
  /** The consumer that asked for the lease: it gets it once the batch in hand is checkpointed. */
  handOverTo?: string;
  run?: Promise<void>;
}

export interface HeldLeasesOptions {
  readonly now: () => number;
  /** Bounds every lease write, so one silent UpdateItem cannot hold the writes behind it. */
  readonly writeTimeoutMs: number;
  readonly logger: Pick<Logger, 'info'>;
  /** Told whenever the number of leases held changes. */
  readonly onCount?: (held: number) => void;
  /** Told when a lease is lost, after its reading was stopped. */
  readonly onLost?: (shardId: string) => void;
}

/**
 * The leases this consumer holds, and the one path of every write to them: one at a time per lease
 * (each is conditional on the counter the previous one left), each bounded in time. A write that
 * finds the lease taken stops the shard's reading at once.
 */
export class HeldLeases {
  readonly #options: HeldLeasesOptions;
  readonly #held = new Map<string, HeldLease>();
  readonly #writes = new Map<HeldLease, Promise<unknown>>();

  constructor(options: HeldLeasesOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#held.size;
  }

  get(shardId: string): HeldLease | undefined {
    return this.#held.get(shardId);
  }

  has(shardId: string): boolean {
    return this.#held.has(shardId);
  }

  shardIds(): string[] {
    return [...this.#held.keys()];
  }

  entries(): [string, HeldLease][] {
    return [...this.#held];
  }

  /** A lease just taken: `takenAt` is when the take was sent. */
  add(lease: Lease, takenAt: number): HeldLease {
    const entry: HeldLease = {
      lease,
      read: new AbortController(),
      finish: new AbortController(),
      confirmedAt: takenAt,
    };
    this.#held.set(lease.shardId, entry);
    this.#writes.set(entry, Promise.resolve());
    this.#options.onCount?.(this.#held.size);
    return entry;
  }

  /** Whether `entry` is still the lease held for its shard (not lost, released or taken again since). */
  holds(entry: HeldLease): boolean {
    return this.#held.get(entry.lease.shardId) === entry;
  }

  /**
   * One write to a held lease, after the ones before it. It fails with LeaseLostError when the lease
   * is no longer held or another consumer holds it now (the reading then stops), and when it does
   * not land within the write timeout.
   */
  write(entry: HeldLease, change: (lease: Lease, options: WriteOptions) => Promise<Lease>): Promise<void> {
    const previous = this.#writes.get(entry) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (!this.holds(entry)) throw new LeaseLostError(entry.lease.shardId);
      const sentAt = this.#options.now();
      entry.lease = await change(entry.lease, { abortSignal: AbortSignal.timeout(this.#options.writeTimeoutMs) });
      entry.confirmedAt = Math.max(entry.confirmedAt, sentAt);
    });
    this.#writes.set(
      entry,
      next.catch(() => {}),
    );
    return next.catch((error: unknown) => {
      if (error instanceof LeaseLostError) this.lose(entry, 'another consumer holds it');
      throw error;
    });
  }

  /** Stops reading the shard at once, the batch in hand given up; its lease is no longer held here. */
  lose(entry: HeldLease, why: string): void {
    if (!this.holds(entry)) return;
    const { shardId } = entry.lease;
    this.#held.delete(shardId);
    entry.read.abort();
    entry.finish.abort();
    this.#options.onCount?.(this.#held.size);
    this.#options.onLost?.(shardId);
    this.#options.logger.info({ shardId, why }, 'lease lost; stopped reading the shard');
  }

  /** The lease was let go (released or handed over) after its reading ended. */
  letGo(entry: HeldLease): void {
    if (!this.holds(entry)) return;
    this.#held.delete(entry.lease.shardId);
    this.#options.onCount?.(this.#held.size);
  }
}
