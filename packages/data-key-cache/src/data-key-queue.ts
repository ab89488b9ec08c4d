import type { DataKeyEntry, EvictionReason, UsageBounds } from './data-key-entry.js';
import type { UsagePace } from './usage-pace.js';

/** What cached material must offer: a way to wipe its data key. */
export interface ZeroableMaterial {
  zeroUnencryptedDataKey(): unknown;
}

export interface ServedEntry<M> {
  /** A clone of the cached material, taken before the entry could be zeroed. */
  readonly material: M;
  readonly entry: DataKeyEntry<M>;
  /** The reservation used the entry up and it has left the queue. */
  readonly spent: boolean;
}

/**
 * The data keys of one cache key in the order they arrived from KMS: the first is in use, the
 * others were fetched ahead and wait their turn. Each obeys every bound from its creation.
 */
export class DataKeyQueue<M extends ZeroableMaterial> {
  readonly #entries: DataKeyEntry<M>[] = [];
  readonly #retire: (entry: DataKeyEntry<M>, reason: EvictionReason | undefined) => void;

  constructor(retire: (entry: DataKeyEntry<M>, reason: EvictionReason | undefined) => void) {
    this.#retire = retire;
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Takes one message of `bytes` from the first key that can serve it. Keys that cannot (aged,
   * or too little left) leave on the way, and so does a key this message used up.
   */
  reserve(bytes: number, now: number, bounds: UsageBounds, clone: (material: M) => M): ServedEntry<M> | undefined {
    for (;;) {
      const entry = this.#entries[0];
      if (entry === undefined) return undefined;
      const reservation = entry.reserve(bytes, now, bounds);
      if (!reservation.granted) {
        this.#entries.shift();
        this.#retire(entry, reservation.reason);
        continue;
      }
      const material = clone(entry.material);
      if (reservation.spent !== undefined) {
        this.#entries.shift();
        this.#retire(entry, reservation.spent);
      }
      return { material, entry, spent: reservation.spent !== undefined };
    }
  }

  add(entry: DataKeyEntry<M>): void {
    this.#entries.push(entry);
  }

  /**
   * How long the keys held last at `pace`, one after another; a key waiting its turn still ages,
   * so it counts only for the age it will have left when its turn comes.
   */
  coverMs(now: number, bounds: UsageBounds, pace: UsagePace): number {
    let cover = 0;
    for (const entry of this.#entries) {
      const left = entry.left(now, bounds);
      const usable = Math.min(pace.lastsMs({ ...left, ageMs: Infinity }), left.ageMs - cover);
      cover += Math.max(0, usable);
    }
    return cover;
  }

  /** Retires every key past its maximum age, in use or waiting. */
  evictExpired(now: number, bounds: UsageBounds): void {
    for (const entry of this.#entries.filter((each) => each.isExpired(now, bounds))) {
      this.#entries.splice(this.#entries.indexOf(entry), 1);
      this.#retire(entry, 'age');
    }
  }

  /** Retires every key, for `reason`. */
  empty(reason: EvictionReason | undefined): void {
    for (const entry of this.#entries.splice(0)) this.#retire(entry, reason);
  }
}
