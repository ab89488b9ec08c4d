import type { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadline, type DeadlineClock } from '../../src/deadline.js';
import { StreamBacklogError, StreamUnavailableError } from '../../src/errors.js';
import { HandoffBacklog } from '../../src/handoff/handoff-backlog.js';
import type { HandoffEntry, HandoffStore } from '../../src/handoff/handoff-store.js';
import { RegionBreakers } from '../../src/handoff/region-breakers.js';
import { MultiRegionPusher, type PusherHandoff } from '../../src/multi-region-pusher.js';

/** The faked timers, and Date.now (faked with them) as the deadline's clock. */
const clock: DeadlineClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/**
 * A region's Kinesis that takes every record at once, holds every call until it is aborted, or
 * takes each call's records after `lateMs` (unless aborted first).
 */
function kinesisThat(answers: 'take' | 'hold' | { lateMs: number }) {
  const signals: (AbortSignal | undefined)[] = [];
  const client = {
    send(command: PutRecordsCommand, options: { abortSignal?: AbortSignal } = {}) {
      signals.push(options.abortSignal);
      const records = (command.input.Records ?? []).map(() => ({ ShardId: 'shardId-0', SequenceNumber: '1' }));
      if (answers === 'take') return Promise.resolve({ Records: records, $metadata: {} });
      return new Promise((resolve, reject) => {
        const timer =
          answers === 'hold'
            ? undefined
            : setTimeout(() => resolve({ Records: records, $metadata: {} }), answers.lateMs);
        options.abortSignal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        });
      });
    },
  } as unknown as KinesisClient;
  return { client, signals };
}

/** Hand-off with a table per region that keeps what is written to it in memory. */
function handoffAfter(afterMs: number): { handoff: PusherHandoff; written: Map<string, HandoffEntry[]> } {
  const written = new Map<string, HandoffEntry[]>();
  const store = (region: string) =>
    ({
      put: async (entry: HandoffEntry) => {
        written.set(region, [...(written.get(region) ?? []), entry]);
      },
    }) as unknown as HandoffStore;
  return {
    written,
    handoff: {
      store,
      backlog: new HandoffBacklog({ maxRecords: 100, maxBytes: 1 << 20 }),
      breakers: new RegionBreakers({ failures: 3, probeAfterMs: 1_000 }),
      afterMs,
      now: () => Date.now(),
    },
  };
}

describe('Class: MultiRegionPusher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends a record at half of what is left of its deadline when the linger would hold it longer', async () => {
    // Prepare: a linger far past the request's budget of 400 ms
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const kinesis = kinesisThat('take');
    const pusher = new MultiRegionPusher({
      regions: ['us-east-1'],
      streamName: 'records',
      kinesis: () => kinesis.client,
      batching: { lingerMs: 1_000, maxLingerMs: 1_000, maxRecords: 500, maxBytes: 5 << 20 },
    });
    const deadline = Deadline.start(400, clock);

    // Act
    const pushed = pusher.push('r-1', new Uint8Array(8), 'v-1', deadline);
    await vi.advanceTimersByTimeAsync(199);
    const callsBefore = kinesis.signals.length;
    await vi.advanceTimersByTimeAsync(1);
    const result = await pushed;

    // Assess
    expect(callsBefore).toBe(0);
    expect(kinesis.signals).toHaveLength(1);
    expect(Object.keys(result.regions)).toEqual(['us-east-1']);
    deadline.dispose();
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

  it('answers OVERLOADED at once for a region whose stream keeps a growing pile unanswered, long before its oldest put is a quarter of the budget old, and takes records again once it caught up', async () => {
    // Prepare: a stream that answers each call after 3 s, a budget of 10 s
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const slow = kinesisThat({ lateMs: 3_000 });
    const pusher = new MultiRegionPusher({
      regions: ['us-east-1'],
      streamName: 'records',
      kinesis: () => slow.client,
      batching: { lingerMs: 0, maxRecords: 500, maxBytes: 5 << 20 },
    });
    const start = Date.now();
    const push = (id: string) => {
      const deadline = Deadline.start(10_000, clock);
      return pusher
        .push(id, new Uint8Array(8), 'v-1', deadline)
        .then(
          () => `${id} taken at ${Date.now() - start}`,
          (error: unknown) =>
            error instanceof StreamBacklogError
              ? `${id} OVERLOADED at ${Date.now() - start}, retry after ${error.retryAfterMs}`
              : String(error),
        )
        .finally(() => deadline.dispose());
    };

    // Act: a record every 100 ms for 700 ms, each in a call of its own; one more once the stream took them
    const answers: Promise<string>[] = [];
    for (let index = 0; index < 7; index++) {
      answers.push(push(`r-${index}`));
      await vi.advanceTimersByTimeAsync(100);
    }
    const asked = Deadline.start(10_000, clock);
    const beforeEncrypting = (() => {
      try {
        pusher.admit('r-asked', 8, asked);
        return 'admitted';
      } catch (error) {
        return error instanceof StreamBacklogError ? `OVERLOADED, retry after ${error.retryAfterMs}` : String(error);
      }
    })();
    asked.dispose();
    await vi.advanceTimersByTimeAsync(2_800);
    answers.push(push('r-7'));
    await vi.advanceTimersByTimeAsync(3_000);

    // Assess: at 500 ms, 5 records in hand and none answered: 6 at one per 500 ms is 3 s, past a
    // quarter of the budget, so r-5 and r-6 are turned away at once, each hint the wait estimated
    expect(await Promise.all(answers)).toEqual([
      'r-0 taken at 3000',
      'r-1 taken at 3100',
      'r-2 taken at 3200',
      'r-3 taken at 3300',
      'r-4 taken at 3400',
      'r-5 OVERLOADED at 500, retry after 3000',
      'r-6 OVERLOADED at 600, retry after 3600',
      'r-7 taken at 6500',
    ]);
    // Asked before a record is encrypted, at 700 ms, the pusher answers as a push would: 6 records at one per 700 ms.
    expect(beforeEncrypting).toBe('OVERLOADED, retry after 4200');
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

  it('with hand-off, cuts a region off at HANDOFF_AFTER_MS once another took the record, and hands it off', async () => {
    // Prepare
    vi.useFakeTimers();
    const prompt = kinesisThat('take');
    const silent = kinesisThat('hold');
    const { handoff, written } = handoffAfter(1_000);
    const pusher = new MultiRegionPusher({
      regions: ['us-east-1', 'eu-west-1'],
      streamName: 'records',
      kinesis: (region) => (region === 'us-east-1' ? prompt.client : silent.client),
      batching: { lingerMs: 0, maxRecords: 500, maxBytes: 5 << 20 },
      handoff,
    });
    const deadline = Deadline.start(5_000, clock);

    // Act
    const outcome = pusher.push('r-3', new Uint8Array(8), 'v-3', deadline);
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await outcome;

    // Assess
    expect(Object.keys(result.regions)).toEqual(['us-east-1']);
    expect(result.pending).toEqual(['eu-west-1']);
    expect(written.get('us-east-1')?.map((entry) => [entry.id, entry.target])).toEqual([['r-3', 'eu-west-1']]);
    expect(silent.signals[0]?.aborted).toBe(true);
  });

  it('with hand-off, tries every region past HANDOFF_AFTER_MS while none took the record, then hands the rest off', async () => {
    // Prepare: one region answers after 3 s, the other after 4 s: both past the 1 s hand-off wait,
    // inside the 5 s budget
    vi.useFakeTimers();
    const later = kinesisThat({ lateMs: 3_000 });
    const latest = kinesisThat({ lateMs: 4_000 });
    const { handoff, written } = handoffAfter(1_000);
    const pusher = new MultiRegionPusher({
      regions: ['us-east-1', 'eu-west-1'],
      streamName: 'records',
      kinesis: (region) => (region === 'us-east-1' ? later.client : latest.client),
      batching: { lingerMs: 0, maxRecords: 500, maxBytes: 5 << 20 },
      handoff,
    });
    const deadline = Deadline.start(5_000, clock);

    // Act
    const outcome = pusher.push('r-4', new Uint8Array(8), 'v-4', deadline);
    await vi.advanceTimersByTimeAsync(3_000);
    const result = await outcome;

    // Assess: acknowledged once the first region took it, the other waiting for it in hand-off
    expect(Object.keys(result.regions)).toEqual(['us-east-1']);
    expect(result.pending).toEqual(['eu-west-1']);
    expect(written.get('us-east-1')?.map((entry) => entry.id)).toEqual(['r-4']);
    expect(latest.signals[0]?.aborted).toBe(true);
  });
});
