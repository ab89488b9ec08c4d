import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadline, type DeadlineClock, DeadlineExceededError } from '../../src/deadline.js';

/** The faked timers, and Date.now (faked with them) as the deadline's clock. */
const clock: DeadlineClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

class StageError extends Error {}

describe('Class: Deadline', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts the budget down and aborts its signal with DeadlineExceededError when it runs out', async () => {
    // Prepare
    const deadline = Deadline.start(1_000, clock);

    // Act
    await vi.advanceTimersByTimeAsync(400);
    const midway = { remaining: deadline.remainingMs(), expired: deadline.expired };
    await vi.advanceTimersByTimeAsync(600);

    // Assess
    expect(midway).toEqual({ remaining: 600, expired: false });
    expect(deadline.expired).toBe(true);
    expect(deadline.remainingMs()).toBe(0);
    expect(deadline.signal.reason).toBeInstanceOf(DeadlineExceededError);
  });

  it('returns what the work returns when it finishes within the budget', async () => {
    // Prepare
    const deadline = Deadline.start(1_000, clock);
    const work = new Promise<string>((resolve) => setTimeout(() => resolve('done'), 999));

    // Act
    const raced = deadline.race(work, () => new StageError('late'));
    await vi.advanceTimersByTimeAsync(999);

    // Assess
    await expect(raced).resolves.toBe('done');
    deadline.dispose();
  });

  it("rejects with the stage's error at the budget, while the work is still running", async () => {
    // Prepare
    const deadline = Deadline.start(1_000, clock);
    const work = new Promise<string>((resolve) => setTimeout(() => resolve('too late'), 20_000));

    // Act
    const raced = deadline.race(work, () => new StageError('the key service is late'));
    const outcome = raced.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    expect(await outcome).toEqual(new StageError('the key service is late'));
  });

  it('rejects at once with the stage error once the budget has run out, and swallows the late failure', async () => {
    // Prepare
    const deadline = Deadline.start(10, clock);
    await vi.advanceTimersByTimeAsync(10);
    const failing = Promise.reject(new Error('KMS failed'));

    // Act
    const raced = deadline.race(failing, () => new StageError('out of budget'));

    // Assess
    await expect(raced).rejects.toThrow('out of budget');
  });

  it('passes the work’s own failure through when it fails within the budget', async () => {
    // Prepare
    const deadline = Deadline.start(1_000, clock);

    // Act
    const raced = deadline.race(Promise.reject(new Error('KMS refused')), () => new StageError('late'));

    // Assess
    await expect(raced).rejects.toThrow('KMS refused');
    deadline.dispose();
  });

  it('never aborts once disposed, and leaves no timer behind', async () => {
    // Prepare
    const deadline = Deadline.start(1_000, clock);

    // Act
    deadline.dispose();
    await vi.advanceTimersByTimeAsync(5_000);

    // Assess
    expect(deadline.expired).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
