import type { ClockTimers } from '../../src/versions/hybrid-clock.js';

interface Pending {
  readonly at: number;
  readonly callback: () => void;
}

/** A clock and timers that move only when the test advances them. */
export class ManualClock implements ClockTimers {
  #now: number;
  readonly #pending = new Set<Pending>();

  constructor(start = 1_764_790_000_000) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  /** Timers not yet fired. */
  get pending(): number {
    return this.#pending.size;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.#now + ms, callback };
    this.#pending.add(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as Pending);
  }

  /** Moves the clock on by `ms`, firing every timer due by then in order, and lets promises settle. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      const due = [...this.#pending].filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#pending.delete(due);
      this.#now = due.at;
      due.callback();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.#now = until;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
