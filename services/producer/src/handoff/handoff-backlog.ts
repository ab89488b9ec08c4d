/** Bounds on what may wait for one target region, over every hand-off table. */
export interface HandoffLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

/** What one target region has waiting, over every table. */
export interface PendingHandoffs {
  readonly entries: number;
  readonly bytes: number;
  /** Wall-clock ms of the oldest entry's write, or undefined when none waits. */
  readonly oldestCreatedAt: number | undefined;
}

interface Count {
  entries: number;
  bytes: number;
  oldestCreatedAt: number | undefined;
  /** What this process wrote and delivered, ever: a count started before a write still counts it. */
  written: { entries: number; bytes: number };
  removed: { entries: number; bytes: number };
}

/** Where this process's own writes and deliveries stood when a count of a table began. */
export interface CountStart {
  readonly written: { readonly entries: number; readonly bytes: number };
  readonly removed: { readonly entries: number; readonly bytes: number };
}

/**
 * The backlog of every target region, as the tables last said (each repairer round counts them)
 * plus what this process wrote and delivered since. Other producer processes' writes show at the
 * next count, so the bound holds to within what the others write in one round.
 */
export class HandoffBacklog {
  readonly #limits: HandoffLimits;
  /** Per target, per table region. */
  readonly #counts = new Map<string, Map<string, Count>>();

  constructor(limits: HandoffLimits) {
    this.#limits = limits;
  }

  get limits(): HandoffLimits {
    return this.#limits;
  }

  #count(target: string, tableRegion: string): Count {
    let byTable = this.#counts.get(target);
    if (byTable === undefined) {
      byTable = new Map();
      this.#counts.set(target, byTable);
    }
    let count = byTable.get(tableRegion);
    if (count === undefined) {
      count = {
        entries: 0,
        bytes: 0,
        oldestCreatedAt: undefined,
        written: { entries: 0, bytes: 0 },
        removed: { entries: 0, bytes: 0 },
      };
      byTable.set(tableRegion, count);
    }
    return count;
  }

  /** Call before counting a table: the count then keeps what this process writes while it reads. */
  countStarts(target: string, tableRegion: string): CountStart {
    const { written, removed } = this.#count(target, tableRegion);
    return { written: { ...written }, removed: { ...removed } };
  }

  /**
   * What a table holds for `target`, counted now: it replaces the running count for that table,
   * plus what this process wrote (less what it delivered) since the count started, which the read
   * may have missed. A write the read did see is counted twice until the next count: the bound errs
   * on the side of refusing.
   */
  counted(target: string, tableRegion: string, counted: PendingHandoffs, since?: CountStart): void {
    const count = this.#count(target, tableRegion);
    const entries = since === undefined ? 0 : count.written.entries - since.written.entries;
    const bytes = since === undefined ? 0 : count.written.bytes - since.written.bytes;
    const gone = since === undefined ? 0 : count.removed.entries - since.removed.entries;
    const goneBytes = since === undefined ? 0 : count.removed.bytes - since.removed.bytes;
    count.entries = Math.max(0, counted.entries + entries - gone);
    count.bytes = Math.max(0, counted.bytes + bytes - goneBytes);
    count.oldestCreatedAt = counted.oldestCreatedAt ?? (count.entries > 0 ? count.oldestCreatedAt : undefined);
  }

  added(target: string, tableRegion: string, bytes: number, createdAt: number): void {
    const count = this.#count(target, tableRegion);
    count.entries += 1;
    count.bytes += bytes;
    count.written.entries += 1;
    count.written.bytes += bytes;
    count.oldestCreatedAt ??= createdAt;
  }

  delivered(target: string, tableRegion: string, bytes: number): void {
    const count = this.#count(target, tableRegion);
    count.entries = Math.max(0, count.entries - 1);
    count.bytes = Math.max(0, count.bytes - bytes);
    count.removed.entries += 1;
    count.removed.bytes += bytes;
    if (count.entries === 0) count.oldestCreatedAt = undefined;
  }

  pending(target: string): PendingHandoffs {
    let entries = 0;
    let bytes = 0;
    let oldestCreatedAt: number | undefined;
    for (const count of this.#counts.get(target)?.values() ?? []) {
      entries += count.entries;
      bytes += count.bytes;
      if (count.oldestCreatedAt !== undefined && count.oldestCreatedAt < (oldestCreatedAt ?? Number.POSITIVE_INFINITY))
        oldestCreatedAt = count.oldestCreatedAt;
    }
    return { entries, bytes, oldestCreatedAt };
  }

  /** Whether one more entry of `bytes` for `target` stays within the bounds. */
  admits(target: string, bytes: number): boolean {
    const { entries, bytes: held } = this.pending(target);
    return entries + 1 <= this.#limits.maxRecords && held + bytes <= this.#limits.maxBytes;
  }
}
