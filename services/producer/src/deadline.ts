/** The clock and timers a deadline reads; tests hand in fakes. */
export interface DeadlineClock {
  /** Milliseconds on a clock that only moves forward (`performance.now` by default). */
  readonly now: () => number;
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout: (timer: unknown) => void;
}

const SYSTEM_CLOCK: DeadlineClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** The reason a deadline's signal aborts with: the request's budget ran out. */
export class DeadlineExceededError extends Error {
  constructor(budgetMs: number) {
    super(`the request's budget of ${budgetMs} ms ran out`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * One request's budget (REQUEST_BUDGET_MS), started when the producer takes the request on and
 * handed to every stage it waits on: the data key from KMS, encryption, the puts to every region.
 * A stage that can be cancelled takes `signal` (the PutRecords calls go out with it, so none
 * outlives the answer); a stage that cannot (a KMS call the data key cache shares among many
 * requests) is raced with `race`, and what it yields after the budget is thrown away.
 */
export class Deadline {
  readonly budgetMs: number;
  /** On the clock's `now`. */
  readonly expiresAt: number;
  /** Aborts, with a DeadlineExceededError, when the budget runs out. */
  readonly signal: AbortSignal;
  readonly #clock: DeadlineClock;
  readonly #timer: unknown;

  private constructor(budgetMs: number, clock: DeadlineClock) {
    this.budgetMs = budgetMs;
    this.#clock = clock;
    this.expiresAt = clock.now() + budgetMs;
    const controller = new AbortController();
    this.signal = controller.signal;
    this.#timer = clock.setTimeout(() => controller.abort(new DeadlineExceededError(budgetMs)), budgetMs);
  }

  static start(budgetMs: number, clock: DeadlineClock = SYSTEM_CLOCK): Deadline {
    return new Deadline(budgetMs, clock);
  }

  get expired(): boolean {
    return this.signal.aborted;
  }

  /** Milliseconds left, 0 once the budget has run out. */
  remainingMs(): number {
    return this.signal.aborted ? 0 : Math.max(0, this.expiresAt - this.#clock.now());
  }

  /**
   * Settles as `work` does, unless the budget runs out first: then it rejects at once with
   * `exceeded()` (the error that names the stage), and `work`'s own outcome is dropped.
   */
  race<T>(work: Promise<T>, exceeded: () => Error): Promise<T> {
    if (this.signal.aborted) {
      work.catch(() => {});
      return Promise.reject(exceeded());
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(exceeded());
      this.signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (value) => {
          this.signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          this.signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Stops the timer once the request is answered; the signal then never aborts. */
  dispose(): void {
    this.#clock.clearTimeout(this.#timer);
  }
}
