import { randomBytes } from 'node:crypto';
import { formatRecordVersion, MAX_VERSION_COUNTER, type RecordVersion } from '@records/record-item';

export interface ClockTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HybridClockOptions {
  /** This process's clock, in ms since the epoch: `Date.now()` shifted by CLOCK_OFFSET_MS. */
  readonly now: () => number;
  /** MAX_CLOCK_SKEW_MS: how far apart any two producers' clocks may be. */
  readonly maxClockSkewMs: number;
  /** 8 lowercase hex digits; random per process unless given (tests). */
  readonly nodeId?: string;
  readonly timers?: ClockTimers;
}

/** A version, and its rendering as the consumers store and compare it. */
export interface IssuedVersion extends RecordVersion {
  readonly text: string;
}

const realTimers: ClockTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The producer's hybrid logical clock: versions strictly increase within the process, and the node
 * id sets apart two processes that read the same millisecond. Versions are never merged from other
 * processes: ordering across producers comes from the commit-wait instead, as in Spanner.
 */
export class HybridClock {
  readonly nodeId: string;
  readonly maxClockSkewMs: number;
  readonly #now: () => number;
  readonly #timers: ClockTimers;
  #last: RecordVersion | undefined;

  constructor(options: HybridClockOptions) {
    this.#now = options.now;
    this.maxClockSkewMs = options.maxClockSkewMs;
    this.nodeId = options.nodeId ?? randomBytes(4).toString('hex');
    this.#timers = options.timers ?? realTimers;
  }

  /** What the clock reads now, in ms. */
  now(): number {
    return this.#now();
  }

  /** A version larger than every one this clock has given. */
  next(): IssuedVersion {
    const physical = Math.max(this.#last?.physicalMs ?? 0, Math.floor(this.#now()));
    let version: RecordVersion;
    if (this.#last === undefined || physical > this.#last.physicalMs) {
      version = { physicalMs: physical, counter: 0, nodeId: this.nodeId };
    } else if (this.#last.counter < MAX_VERSION_COUNTER) {
      version = { physicalMs: physical, counter: this.#last.counter + 1, nodeId: this.nodeId };
    } else {
      // A million versions within one millisecond: borrow the next one, as an HLC does.
      version = { physicalMs: physical + 1, counter: 0, nodeId: this.nodeId };
    }
    this.#last = version;
    return { ...version, text: formatRecordVersion(version) };
  }

  /**
   * Resolves once this clock reads past `version.physicalMs + maxClockSkewMs` (the commit-wait):
   * every producer within the bound then reads later than the version, so whatever any of them
   * takes after the answer gets a larger one. The wait is at most the bound (plus the few ms an
   * overflowing counter borrowed); `signal` ends it early with its reason.
   */
  waitUntilAfter(version: RecordVersion, signal?: AbortSignal): Promise<void> {
    const target = version.physicalMs + this.maxClockSkewMs;
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let handle: unknown;
      const onAbort = () => {
        this.#timers.clearTimeout(handle);
        reject(signal?.reason);
      };
      const check = () => {
        const remaining = target - this.#now();
        if (remaining < 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        // Past the target means reading more than it: one ms beyond.
        handle = this.#timers.setTimeout(check, Math.floor(remaining) + 1);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }
}
