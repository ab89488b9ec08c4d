import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadline, type DeadlineClock } from '../../src/deadline.js';
import { ClockSkewedError, ProducerErrors, StreamBacklogError } from '../../src/errors.js';
import { createRecordIngestor } from '../../src/record-ingestor.js';
import { HybridClock } from '../../src/versions/hybrid-clock.js';
import { ManualClock } from '../support/manual-clock.js';
import { unskewedClock } from './app-with.js';

/** The faked timers, and Date.now (faked with them) as the deadline's clock. */
const fakeClock: DeadlineClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

describe('Function: createRecordIngestor', () => {
  it('zeroes the plaintext when encryption throws', async () => {
    // Prepare
    let seen: Uint8Array | undefined;
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      requestBudgetMs: 10_000,
      encryptor: {
        encrypt: async (plaintext) => {
          seen = plaintext;
          throw new Error('no data key');
        },
      },
      pusher: { push: async () => ({ regions: {}, pending: [] }) },
      ...unskewedClock(),
    });

    // Act
    const result = ingest({ id: 'r-1', secret: 'x' });

    // Assess
    await expect(result).rejects.toThrow('no data key');
    expect(seen?.length).toBeGreaterThan(0);
    expect(seen?.every((byte) => byte === 0)).toBe(true);
  });

  it('turns a record the streams would refuse away before it is encrypted, asking with its size', async () => {
    // Prepare
    const asked: [string, number][] = [];
    let encrypted = 0;
    let pushed = 0;
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      requestBudgetMs: 10_000,
      encryptor: {
        encrypt: async (plaintext) => {
          encrypted += 1;
          return Uint8Array.from(plaintext);
        },
      },
      pusher: {
        admit: (id, bytes) => {
          asked.push([id, bytes]);
          throw new StreamBacklogError(3_000);
        },
        push: async () => {
          pushed += 1;
          return { regions: {}, pending: [] };
        },
      },
      ...unskewedClock(),
    });

    // Act
    const result = ingest({ id: 'r-9', pad: 'x'.repeat(1_000) });

    // Assess
    await expect(result).rejects.toMatchObject({ code: 'OVERLOADED', retryAfterMs: 3_000 });
    expect(encrypted).toBe(0);
    expect(pushed).toBe(0);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.[0]).toBe('r-9');
    expect(asked[0]?.[1]).toBeGreaterThan(1_000);
  });

  it('zeroes the plaintext once it is encrypted and pushes the ciphertext', async () => {
    // Prepare
    let seen: Uint8Array | undefined;
    let pushed: Uint8Array | undefined;
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      requestBudgetMs: 10_000,
      encryptor: {
        encrypt: async (plaintext) => {
          seen = plaintext;
          return Uint8Array.from(plaintext);
        },
      },
      pusher: {
        push: async (_id, ciphertext) => {
          pushed = ciphertext;
          return { regions: {}, pending: [] };
        },
      },
      ...unskewedClock(),
    });

    // Act
    await ingest({ id: 'r-2' });

    // Assess
    expect(seen?.every((byte) => byte === 0)).toBe(true);
    expect(JSON.parse(Buffer.from(pushed ?? []).toString('utf8'))).toEqual({
      id: 'r-2',
      _pipeline: { version: expect.stringMatching(/^\d{18}-\d{6}-a1b2c3d4$/) },
    });
  });
});

describe('Function: createRecordIngestor, versions', () => {
  const push = async () => ({
    regions: { 'us-east-1': { shardId: 'shardId-000000000000', sequenceNumber: '1' } },
    pending: [],
  });

  it('answers only once its clock reads past the version plus the skew bound, with the version', async () => {
    // Prepare
    const manual = new ManualClock(50_000);
    const clock = new HybridClock({ now: manual.now, maxClockSkewMs: 40, nodeId: 'a1b2c3d4', timers: manual });
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      encryptor: { encrypt: async (plaintext) => Uint8Array.from(plaintext) },
      pusher: { push },
      clock,
      skew: { skewed: false, retryAfterMs: 1_000 },
      requestBudgetMs: 10_000,
    });
    let answered = false;

    // Act
    const result = ingest({ id: 'r-1' }).then((value) => {
      answered = true;
      return value;
    });
    await manual.advance(40);
    const atBound = answered;
    await manual.advance(1);

    // Assess
    expect(atBound).toBe(false);
    expect(await result).toEqual({
      id: 'r-1',
      version: '000000000000050000-000000-a1b2c3d4',
      regions: { 'us-east-1': { shardId: 'shardId-000000000000', sequenceNumber: '1' } },
      pending: [],
    });
  });

  it('rejects with 503 COMMIT_WAIT_TIMEOUT when the budget runs out while the answer waits out the skew bound', async () => {
    // Prepare: a skew bound of 500 ms and a budget of 300 ms, on one manual clock
    const manual = new ManualClock(50_000);
    const clock = new HybridClock({ now: manual.now, maxClockSkewMs: 500, nodeId: 'a1b2c3d4', timers: manual });
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      encryptor: { encrypt: async (plaintext) => Uint8Array.from(plaintext) },
      pusher: { push },
      clock,
      skew: { skewed: false, retryAfterMs: 1_000 },
      requestBudgetMs: 300,
      deadlineClock: manual,
    });

    // Act
    const outcome = ingest({ id: 'r-wait' }).catch((error: unknown) => error);
    // Encryption and the puts are done at once; the answer then waits for the clock.
    await manual.advance(0);
    await manual.advance(300);

    // Assess
    expect(await outcome).toMatchObject({ code: 'COMMIT_WAIT_TIMEOUT', statusCode: 503 });
  });

  it('throws CLOCK_SKEWED with the check interval as Retry-After, and encrypts nothing, while the clock is skewed', async () => {
    // Prepare
    let encrypted = 0;
    const ingest = createRecordIngestor({
      streamName: 'records',
      pipelineAttribute: '_pipeline',
      encryptor: {
        encrypt: async (plaintext) => {
          encrypted++;
          return Uint8Array.from(plaintext);
        },
      },
      pusher: { push },
      ...unskewedClock(),
      skew: { skewed: true, retryAfterMs: 10_000 },
      requestBudgetMs: 10_000,
    });

    // Act
    const outcome = await ingest({ id: 'r-1' }).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(ClockSkewedError);
    expect(outcome).toMatchObject({ code: 'CLOCK_SKEWED', statusCode: 503, retryAfterMs: 10_000 });
    expect(encrypted).toBe(0);
  });

  describe('within the request budget', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('rejects with 503 KMS_TIMEOUT when encryption is still waiting on KMS at the budget, and never pushes', async () => {
      // Prepare: an encryption that waits on a data key that comes only after the budget
      vi.useFakeTimers();
      let seen: Uint8Array | undefined;
      let finishEncryption: ((ciphertext: Uint8Array) => void) | undefined;
      const push = vi.fn(async () => ({ regions: {}, pending: [] }));
      const ingest = createRecordIngestor({
        streamName: 'records',
        pipelineAttribute: '_pipeline',
        requestBudgetMs: 2_000,
        deadlineClock: fakeClock,
        ...unskewedClock(),
        encryptor: {
          encrypt: (plaintext) => {
            seen = plaintext;
            return new Promise((resolve) => {
              finishEncryption = resolve;
            });
          },
        },
        pusher: { push },
      });

      // Act
      const result = ingest({ id: 'r-3', secret: 'x' });
      const settled = result.catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(1_999);
      const early = await Promise.race([settled, Promise.resolve('pending')]);
      await vi.advanceTimersByTimeAsync(1);
      const error = await settled;
      finishEncryption?.(new Uint8Array([1, 2, 3]));
      await vi.advanceTimersByTimeAsync(0);

      // Assess
      expect(early).toBe('pending');
      expect(error).toBeInstanceOf(ProducerErrors.KMS_TIMEOUT);
      expect(error).toMatchObject({ code: 'KMS_TIMEOUT', statusCode: 503 });
      expect(push).not.toHaveBeenCalled();
      expect(seen?.every((byte) => byte === 0)).toBe(true);
    });

    it('hands the pusher the same deadline, with what encryption left of the budget', async () => {
      // Prepare: encryption takes 300 ms of a 1,000 ms budget
      vi.useFakeTimers();
      let remaining: number | undefined;
      const deadline = Deadline.start(1_000, fakeClock);
      const ingest = createRecordIngestor({
        streamName: 'records',
        pipelineAttribute: '_pipeline',
        requestBudgetMs: 60_000,
        encryptor: {
          encrypt: async (plaintext) => {
            await new Promise((resolve) => setTimeout(resolve, 300));
            return Uint8Array.from(plaintext);
          },
        },
        pusher: {
          push: async (_id, _ciphertext, _version, given) => {
            expect(given).toBe(deadline);
            remaining = given.remainingMs();
            return { regions: {}, pending: [] };
          },
        },
        ...unskewedClock(),
      });

      // Act
      const result = ingest({ id: 'r-4' }, { deadline });
      await vi.advanceTimersByTimeAsync(300);
      await result;

      // Assess
      expect(remaining).toBe(700);
      deadline.dispose();
    });
  });
});
