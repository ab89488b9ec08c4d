import {
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/lease-store.js';
import { createConsumerMetrics } from '../../src/metrics.js';
import { ShardSyncer } from '../../src/shard-syncer.js';
import { metricValue } from '../support/metric-values.js';
import { RecordingLogger } from '../support/recording-logger.js';

const ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/records';
const CREATED = new Date('2026-01-02T03:04:05.000Z');
const IDENTITY = `${ARN}@${CREATED.toISOString()}`;

function row(shardId: string, streamIdentity: string | undefined, checkpoint: Lease['checkpoint']): Lease {
  return {
    shardId,
    owner: undefined,
    counter: 3,
    checkpoint,
    parentShardIds: [],
    nextOwner: undefined,
    streamIdentity,
  };
}

/** A stream of the given shards, created at CREATED, and a lease table that records what is done to it. */
function harness(shards: Pick<Shard, 'ShardId'>[]) {
  const kinesis = {
    async send(command: unknown) {
      if (command instanceof DescribeStreamSummaryCommand)
        return { StreamDescriptionSummary: { StreamARN: ARN, StreamCreationTimestamp: CREATED } };
      if (command instanceof ListShardsCommand) return { Shards: shards };
      throw new Error('unexpected command');
    },
  } as unknown as KinesisClient;
  const ensured: { shardId: string; identity: string }[] = [];
  const removed: string[] = [];
  const registry = new Registry();
  const syncer = new ShardSyncer({
    kinesis,
    streamName: 'records',
    region: 'us-east-1',
    store: {
      async ensure(shardId, _parents, identity) {
        ensured.push({ shardId, identity });
      },
      async remove(seen) {
        removed.push(seen.shardId);
        return true;
      },
    },
    metrics: createConsumerMetrics(registry, 'us-east-1'),
    logger: new RecordingLogger(),
    intervalMs: 30_000,
    now: () => 0,
  });
  return { syncer, ensured, removed, registry };
}

describe('Class: ShardSyncer', () => {
  it('removes the rows of an earlier stream of the same name and writes fresh rows for the stream listed now', async () => {
    // Prepare: the stream was created again; its old rows say SHARD_END and a checkpoint far ahead
    const { syncer, ensured, removed, registry } = harness([
      { ShardId: 'shardId-000000000000' },
      { ShardId: 'shardId-000000000001' },
    ]);
    const earlier = `${ARN}@2025-01-01T00:00:00.000Z`;
    const rows = [
      row('shardId-000000000000', earlier, { kind: 'shard-end' }),
      row('shardId-000000000001', earlier, { kind: 'after', sequenceNumber: '4959' }),
    ];

    // Act
    const outcome = await syncer.sync(rows, () => false);

    // Assess
    expect(removed).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    expect(ensured).toEqual([
      { shardId: 'shardId-000000000000', identity: IDENTITY },
      { shardId: 'shardId-000000000001', identity: IDENTITY },
    ]);
    expect(outcome).toEqual({ changed: true, removed: rows.map((lease) => lease.shardId), staleHeld: [] });
    expect(await metricValue(registry, 'consumer_stale_stream_leases_removed_total', { region: 'us-east-1' })).toBe(2);
  });

  it('leaves a held row of an earlier stream to its holder, to give up first, and syncs again at once', async () => {
    // Prepare
    const { syncer, removed } = harness([{ ShardId: 'shardId-000000000000' }]);
    const rows = [row('shardId-000000000000', `${ARN}@2025-01-01T00:00:00.000Z`, { kind: 'trim-horizon' })];

    // Act
    const outcome = await syncer.sync(rows, () => true);

    // Assess
    expect(removed).toEqual([]);
    expect(outcome.staleHeld).toEqual(['shardId-000000000000']);
    expect(syncer.isDue()).toBe(true);
  });

  it('adopts a row written before identities, keeping its checkpoint, and touches rows of this stream not at all', async () => {
    // Prepare
    const { syncer, ensured, removed } = harness([
      { ShardId: 'shardId-000000000000' },
      { ShardId: 'shardId-000000000001' },
    ]);
    const rows = [
      row('shardId-000000000000', undefined, { kind: 'after', sequenceNumber: '4959' }),
      row('shardId-000000000001', IDENTITY, { kind: 'after', sequenceNumber: '4960' }),
    ];

    // Act
    const outcome = await syncer.sync(rows, () => false);

    // Assess
    expect(removed).toEqual([]);
    expect(ensured).toEqual([{ shardId: 'shardId-000000000000', identity: IDENTITY }]);
    expect(outcome.changed).toBe(false);
    expect(syncer.isDue()).toBe(false);
  });
});
