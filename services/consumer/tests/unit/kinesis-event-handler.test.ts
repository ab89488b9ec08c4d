import type { _Record } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransientProcessingError } from '../../src/errors.js';
import { createKinesisEventHandler } from '../../src/kinesis-event-handler.js';
import type { BatchOutcome } from '../../src/record-processor.js';

const ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/records';

function eventOf(count: number, shardId = 'shardId-000000000000'): KinesisStreamEvent {
  return {
    Records: Array.from(
      { length: count },
      (_, index): KinesisStreamRecord => ({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: `key-${index}`,
          sequenceNumber: String(1000 + index),
          data: Buffer.from(`record ${index}`).toString('base64'),
          approximateArrivalTimestamp: 1_700_000_000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shardId}:${1000 + index}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::123456789012:role/consumer',
        awsRegion: 'eu-west-1',
        eventSourceARN: ARN,
      }),
    ),
  };
}

/** A processor whose KMS is down until `upAt` (ms on the fake clock), for chunks from `fromSequence` on. */
function outageProcessor(options: { upAt: number; fromSequence?: number; failure?: () => Error }) {
  const done: string[] = [];
  const triedAt: number[] = [];
  const processor = async (_shardId: string, records: readonly _Record[]): Promise<BatchOutcome> => {
    const first = Number(records[0]?.SequenceNumber);
    if (first >= (options.fromSequence ?? 0)) triedAt.push(Date.now());
    if (first >= (options.fromSequence ?? 0) && Date.now() < options.upAt) {
      throw options.failure?.() ?? new TransientProcessingError('KMS in eu-west-1 is unavailable');
    }
    const sequences = records.map((record) => record.SequenceNumber as string);
    done.push(...sequences);
    return { written: sequences, deadLettered: [] };
  };
  return { processor, done, triedAt };
}

const quietLogger = { warn: () => {} };

describe('Function: createKinesisEventHandler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  function handlerWith(processor: ReturnType<typeof outageProcessor>['processor'], outageWaitMs = 60_000) {
    return createKinesisEventHandler({
      processorFor: () => processor,
      logger: quietLogger,
      chunkSize: 10,
      reserveMs: 5_000,
      outageWaitMs,
      outageBackoff: { minDelayMs: 1_000, maxDelayMs: 4_000 },
    });
  }

  it('waits out an outage shorter than its budget inside the invocation and reports nothing for retry', async () => {
    // Prepare: KMS is back 20 s into the invocation
    const { processor, done, triedAt } = outageProcessor({ upAt: 20_000, fromSequence: 1010 });
    const handle = handlerWith(processor);

    // Act
    const answer = handle(eventOf(30), { getRemainingTimeInMillis: () => 300_000 - Date.now() });
    await vi.advanceTimersByTimeAsync(60_000);

    // Assess
    expect(await answer).toEqual({ batchItemFailures: [] });
    expect(done).toEqual(eventOf(30).Records.map((record) => record.kinesis.sequenceNumber));
    expect(triedAt.length).toBeGreaterThan(2);
    expect(triedAt.at(-1)).toBeGreaterThanOrEqual(20_000);
  });

  it('reports the first record of the chunk that met the outage once the budget is spent, and nothing after it as done', async () => {
    // Prepare: KMS stays down; the second chunk of ten meets it
    const { processor, done, triedAt } = outageProcessor({ upAt: Number.POSITIVE_INFINITY, fromSequence: 1010 });
    const handle = handlerWith(processor, 30_000);
    let answered: unknown;

    // Act
    const answer = handle(eventOf(30), { getRemainingTimeInMillis: () => 300_000 - Date.now() }).then((value) => {
      answered = value;
      return value;
    });
    await vi.advanceTimersByTimeAsync(29_000);
    const answeredBeforeBudget = answered;
    await vi.advanceTimersByTimeAsync(2_000);

    // Assess
    expect(answeredBeforeBudget).toBeUndefined();
    expect(await answer).toEqual({ batchItemFailures: [{ itemIdentifier: '1010' }] });
    expect(done).toEqual(eventOf(10).Records.map((record) => record.kinesis.sequenceNumber));
    expect(triedAt.at(-1)).toBe(30_000);
  });

  it('never waits past the time the invocation has left, less the reserve', async () => {
    // Prepare: 12 s left, 5 s of them reserved: 7 s to wait at most, though the budget is 60 s
    const { processor, triedAt } = outageProcessor({ upAt: Number.POSITIVE_INFINITY });
    const handle = handlerWith(processor);
    const end = 12_000;

    // Act
    const answer = handle(eventOf(5), { getRemainingTimeInMillis: () => end - Date.now() });
    await vi.advanceTimersByTimeAsync(60_000);

    // Assess
    expect(await answer).toEqual({ batchItemFailures: [{ itemIdentifier: '1000' }] });
    expect(triedAt.at(-1)).toBe(7_000);
  });

  it('reports a chunk that failed for another reason at once, without waiting', async () => {
    // Prepare
    const { processor, triedAt } = outageProcessor({
      upAt: Number.POSITIVE_INFINITY,
      fromSequence: 1020,
      failure: () => new Error('a bug'),
    });
    const handle = handlerWith(processor);

    // Act
    const answer = handle(eventOf(30), { getRemainingTimeInMillis: () => 300_000 });
    await vi.advanceTimersByTimeAsync(0);

    // Assess
    expect(await answer).toEqual({ batchItemFailures: [{ itemIdentifier: '1020' }] });
    expect(triedAt).toEqual([0]);
  });

  it('spends one outage budget per invocation, across shards', async () => {
    // Prepare: two shards, KMS down throughout, a budget of 10 s
    const { processor, triedAt } = outageProcessor({ upAt: Number.POSITIVE_INFINITY });
    const handle = handlerWith(processor, 10_000);
    const event = {
      Records: [...eventOf(3, 'shardId-000000000000').Records, ...eventOf(3, 'shardId-000000000001').Records],
    };

    // Act
    const answer = handle(event, { getRemainingTimeInMillis: () => 300_000 - Date.now() });
    await vi.advanceTimersByTimeAsync(60_000);

    // Assess: the second shard is tried once, at the end of the first shard's wait, and reported too
    expect(await answer).toEqual({ batchItemFailures: [{ itemIdentifier: '1000' }, { itemIdentifier: '1000' }] });
    expect(triedAt.at(-1)).toBe(10_000);
    expect(triedAt.filter((at) => at === 10_000)).toHaveLength(2);
  });
});
