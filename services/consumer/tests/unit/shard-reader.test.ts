import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConsumerMetrics } from '../../src/metrics.js';
import { ShardReader } from '../../src/shard-reader.js';
import { RecordingLogger } from '../support/recording-logger.js';

/** A shard with one record, then nothing. */
function oneRecordShard(): KinesisClient {
  let served = false;
  return {
    async send(command: unknown) {
      if (command instanceof GetShardIteratorCommand) return { ShardIterator: 'it-0' };
      if (command instanceof GetRecordsCommand) {
        const records = served ? [] : [{ SequenceNumber: '1', Data: new Uint8Array(1), PartitionKey: 'k' }];
        served = true;
        return { Records: records, NextShardIterator: 'it-1', MillisBehindLatest: 0 };
      }
      throw new Error('unexpected command');
    },
  } as unknown as KinesisClient;
}

describe('Class: ShardReader', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports a batch stalled and logs it once it has waited its bound, though no attempt failed (a silent DynamoDB)', async () => {
    // Prepare: the batch's write answers only when the test lets it
    let answer: () => void = () => {};
    const logger = new RecordingLogger();
    const stalls: boolean[] = [];
    const reader = new ShardReader({
      kinesis: oneRecordShard(),
      streamName: 'records',
      region: 'us-east-1',
      shardId: 'shardId-000000000000',
      processBatch: () =>
        new Promise((resolve) => {
          answer = () => resolve({ written: ['1'], deadLettered: [] });
        }),
      metrics: createConsumerMetrics(new Registry(), 'us-east-1'),
      logger,
      getRecordsLimit: 100,
      idlePollMs: 250,
      stallAfterMs: 10_000,
      onStall: (stalled) => stalls.push(stalled),
    });
    const stop = new AbortController();
    const run = reader.run(stop.signal);

    // Act
    await vi.advanceTimersByTimeAsync(9_900);
    const before = [...stalls];
    await vi.advanceTimersByTimeAsync(200);
    const after = [...stalls];
    stop.abort();
    answer();
    await vi.advanceTimersByTimeAsync(0);

    // Assess
    expect(before).toEqual([]);
    expect(after).toEqual([true]);
    expect(logger.lines.filter((line) => line.message.startsWith('batch not done within its bound'))).toHaveLength(1);
    expect(await run).toBe('stopped');
    expect(stalls).toEqual([true, false]);
  });
});
