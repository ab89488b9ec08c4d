import type { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadline, type DeadlineClock } from '../../src/deadline.js';
import { StreamUnavailableError } from '../../src/errors.js';
import { MultiRegionPusher } from '../../src/multi-region-pusher.js';

/** The faked timers, and Date.now (faked with them) as the deadline's clock. */
const clock: DeadlineClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** A region's Kinesis that takes every record at once, or holds every call until it is aborted. */
function kinesisThat(answers: 'take' | 'hold') {
  const signals: (AbortSignal | undefined)[] = [];
  const client = {
    send(command: PutRecordsCommand, options: { abortSignal?: AbortSignal } = {}) {
      signals.push(options.abortSignal);
      if (answers === 'take') {
        const records = (command.input.Records ?? []).map(() => ({ ShardId: 'shardId-0', SequenceNumber: '1' }));
        return Promise.resolve({ Records: records, $metadata: {} });
      }
      return new Promise((_resolve, reject) => {
        options.abortSignal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        );
      });
    },
  } as unknown as KinesisClient;
  return { client, signals };
}

describe('Class: MultiRegionPusher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('rejects with 503 STREAM_UNAVAILABLE at the deadline naming the silent region, with its call aborted', async () => {
    // Prepare
    vi.useFakeTimers();
    const prompt = kinesisThat('take');
    const silent = kinesisThat('hold');
    const pusher = new MultiRegionPusher({
      regions: ['us-east-1', 'eu-west-1'],
      streamName: 'records',
      kinesis: (region) => (region === 'us-east-1' ? prompt.client : silent.client),
      batching: { lingerMs: 0, maxRecords: 500, maxBytes: 5 << 20 },
    });
    const deadline = Deadline.start(1_500, clock);

    // Act
    const outcome = pusher.push('r-1', new Uint8Array(8), 'v-1', deadline).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1_499);
    const callOpenBefore = silent.signals.every((signal) => signal?.aborted === false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;

    // Assess
    expect(callOpenBefore).toBe(true);
    expect(error).toBeInstanceOf(StreamUnavailableError);
    expect(error).toMatchObject({
      code: 'STREAM_UNAVAILABLE',
      statusCode: 503,
      failedRegions: ['eu-west-1'],
      acceptedRegions: ['us-east-1'],
    });
    expect(silent.signals).toHaveLength(1);
    expect(silent.signals[0]?.aborted).toBe(true);
  });

  it('puts nothing when the deadline ran out before the push began', async () => {
    // Prepare
    vi.useFakeTimers();
    const region = kinesisThat('take');
    const pusher = new MultiRegionPusher({
      regions: ['us-east-1'],
      streamName: 'records',
      kinesis: () => region.client,
      batching: { lingerMs: 0, maxRecords: 500, maxBytes: 5 << 20 },
    });
    const deadline = Deadline.start(100, clock);
    await vi.advanceTimersByTimeAsync(100);

    // Act
    const outcome = pusher.push('r-2', new Uint8Array(8), 'v-2', deadline);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(StreamUnavailableError);
    expect(region.signals).toHaveLength(0);
  });
});
