import { setMaxListeners } from 'node:events';
import { pause } from '@records/retry';
import type { HandoffBacklog } from './handoff-backlog.js';
import type { HandoffStore, StoredHandoffEntry } from './handoff-store.js';
import { BrokenCircuitError } from './region-breakers.js';

// Entries in flight at once: the batcher puts them to the stream in shared PutRecords calls.
const DELIVERY_CONCURRENCY = 50;

type LogFn = (details: object, message: string) => void;

export interface HandoffRepairerOptions {
  readonly regions: readonly string[];
  /** The hand-off table of each region. */
  readonly store: (region: string) => HandoffStore;
  readonly backlog: HandoffBacklog;
  /** Puts an entry's record to the target region's stream, through that region's breaker. */
  readonly deliver: (target: string, entry: StoredHandoffEntry, signal: AbortSignal) => Promise<void>;
  /** This process's name on the claims it takes. */
  readonly owner: string;
  /** How long a claim holds an entry; a repairer killed mid-delivery frees its entries after this. */
  readonly claimMs: number;
  /** The pause between rounds while nothing is left to deliver. */
  readonly intervalMs: number;
  /** Entries read per bucket and round. */
  readonly batchSize: number;
  /** Wall-clock ms: claims are compared across processes. */
  readonly now: () => number;
  readonly logger: { warn: LogFn; info: LogFn };
  readonly onDelivered?: (target: string) => void;
}

/**
 * Delivers hand-off entries to their region's stream once it takes writes again, and removes each
 * once it is there, as Dynamo's hinted hand-off does. Every producer process runs one; they share
 * the entries by claim, so no entry is delivered by two at once. Order does not matter: every
 * region's consumers write a record only over an older version.
 */
export class HandoffRepairer {
  readonly #options: HandoffRepairerOptions;
  readonly #stopping = new AbortController();
  #running: Promise<void> | undefined;

  constructor(options: HandoffRepairerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops after the round in hand; a claim it still holds runs out and another process takes the entry. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      let more = false;
      try {
        more = await this.runOnce(signal);
      } catch (error) {
        if (!signal.aborted) this.#options.logger.warn({ err: error }, 'hand-off round failed; trying again');
      }
      if (!more) await pause(this.#options.intervalMs, signal);
    }
  }

  /** One round over every target region and table. True when entries were left for another round at once. */
  async runOnce(signal: AbortSignal = new AbortController().signal): Promise<boolean> {
    const { regions } = this.#options;
    let more = false;
    for (const target of regions) {
      for (const tableRegion of regions) {
        if (tableRegion === target || signal.aborted) continue;
        more = (await this.#repair(target, tableRegion, signal)) || more;
      }
    }
    return more;
  }

  async #repair(target: string, tableRegion: string, signal: AbortSignal): Promise<boolean> {
    const { backlog, batchSize, claimMs, now, owner } = this.#options;
    const store = this.#options.store(tableRegion);
    const since = backlog.countStarts(target, tableRegion);
    const counted = await store.backlog(target, signal);
    backlog.counted(target, tableRegion, counted, since);
    if (counted.entries === 0) return false;
    const entries = await store.oldest(target, batchSize, signal);
    const started = now();
    const free = entries.filter((entry) => entry.claimedUntil < started);
    // Delivery must end well inside the claim, or another process could take the entry meanwhile.
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(claimMs / 2)]);
    // Every delivery in flight listens to it (the batcher's call and the retry's pause).
    setMaxListeners(4 * DELIVERY_CONCURRENCY, deadline);
    let delivered = 0;
    const deliverOne = async (entry: StoredHandoffEntry): Promise<void> => {
      if (!(await store.claim(entry, owner, now(), now() + claimMs))) return;
      try {
        await this.#options.deliver(target, entry, deadline);
      } catch (error) {
        // Not delivered: free it for the next round rather than hold it for the whole claim, or a
        // region down for longer than a few rounds would find every entry claimed by failed probes.
        await store.release(entry, owner).catch(() => false);
        throw error;
      }
      if (await store.remove(entry, owner)) {
        delivered++;
        backlog.delivered(target, tableRegion, entry.ciphertext.byteLength);
        this.#options.onDelivered?.(target);
      }
    };
    let blocked = false;
    try {
      // The first alone: while the region's breaker is open it is the probe, and only one may pass.
      const [first, ...rest] = free;
      if (first !== undefined) await deliverOne(first);
      for (let start = 0; start < rest.length && !deadline.aborted; start += DELIVERY_CONCURRENCY) {
        const results = await Promise.allSettled(rest.slice(start, start + DELIVERY_CONCURRENCY).map(deliverOne));
        const failure = results.find((result) => result.status === 'rejected');
        if (failure !== undefined) throw failure.reason;
      }
    } catch (error) {
      // The region is still down (or its breaker open): claims run out and a later round tries again.
      blocked = true;
      if (!(error instanceof BrokenCircuitError))
        this.#options.logger.warn({ target, reason: (error as Error).name }, 'hand-off delivery failed');
    }
    if (delivered > 0)
      this.#options.logger.info({ target, table: tableRegion, delivered }, 'hand-off entries delivered');
    return !blocked && delivered > 0 && counted.entries > delivered;
  }
}
