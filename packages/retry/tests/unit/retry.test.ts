import { afterEach, describe, expect, it, vi } from 'vitest';
import { retry } from '../../src/index.js';

const fast = { minDelayMs: 1, maxDelayMs: 2 };

describe('Function: retry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the first success, after retrying failures, and says which attempts failed', async () => {
    // Prepare
    const retried: number[] = [];
    let calls = 0;

    // Act
    const result = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error(`try ${attempt}`);
        return 'done';
      },
      { ...fast, attempts: 5, onRetry: (_error, attempt) => retried.push(attempt) },
    );

    // Assess
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('throws the last failure as the action threw it once the attempts are used up', async () => {
    // Prepare
    const failure = new Error('still down');
    let calls = 0;

    // Act
    const act = retry(
      async () => {
        calls++;
        throw failure;
      },
      { ...fast, attempts: 3 },
    );

    // Assess
    await expect(act).rejects.toBe(failure);
    expect(calls).toBe(3);
  });

  it('throws at once what shouldRetry refuses', async () => {
    // Prepare
    const refused = new Error('bad request');
    let calls = 0;

    // Act
    const act = retry(
      async () => {
        calls++;
        throw refused;
      },
      { ...fast, attempts: 5, shouldRetry: (error) => error !== refused },
    );

    // Assess
    await expect(act).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('retries a TypeError like any other failure', async () => {
    // Prepare
    let calls = 0;

    // Act
    const result = await retry(
      async () => {
        calls++;
        if (calls === 1) throw new TypeError('undefined is not a function');
        return calls;
      },
      { ...fast, attempts: 2 },
    );

    // Assess
    expect(result).toBe(2);
  });

  it('stops waiting and trying when the signal aborts in the middle of a long wait', async () => {
    // Prepare: a minute between tries, on a clock the test moves
    vi.useFakeTimers();
    const controller = new AbortController();
    let calls = 0;
    let outcome: unknown;
    retry(
      async () => {
        calls++;
        throw new Error('down');
      },
      { minDelayMs: 60_000, maxDelayMs: 60_000, attempts: Number.POSITIVE_INFINITY, signal: controller.signal },
    ).then(
      () => {
        outcome = 'resolved';
      },
      (error: unknown) => {
        outcome = error;
      },
    );
    await vi.advanceTimersByTimeAsync(10_000);
    const callsBeforeAbort = calls;
    const settledBeforeAbort = outcome;

    // Act: abort ten seconds into the minute, then let no time pass
    controller.abort(new Error('stopping'));
    await vi.advanceTimersByTimeAsync(0);

    // Assess: it was still waiting, and stopped at once without trying again
    expect(callsBeforeAbort).toBe(1);
    expect(settledBeforeAbort).toBeUndefined();
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe('stopping');
    expect(calls).toBe(1);
  });

  it('throws the last failure once maxRetryTimeMs has passed, its last wait cut to what was left', async () => {
    // Prepare: waits of 4 s at least, 10 s allowed in all, on a clock the test moves
    vi.useFakeTimers();
    const triedAt: number[] = [];
    let outcome: unknown;
    retry(
      async () => {
        triedAt.push(Date.now());
        throw new Error('down');
      },
      { minDelayMs: 4_000, maxDelayMs: 4_000, attempts: Number.POSITIVE_INFINITY, maxRetryTimeMs: 10_000 },
    ).catch((error: unknown) => {
      outcome = error;
    });
    const start = Date.now();

    // Act
    await vi.advanceTimersByTimeAsync(60_000);

    // Assess: tries at 0, 4 s, 8 s and (the last wait cut to 2 s) 10 s, then the failure
    expect(triedAt.map((at) => at - start)).toEqual([0, 4_000, 8_000, 10_000]);
    expect((outcome as Error).message).toBe('down');
  });
});
