import { randomUUID } from 'node:crypto';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand, SplitShardCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the lease fleet suite');

// Long enough that a renewal delayed by a loaded machine (renewals run every fifth of it, on their
// own timer) never lets a lease expire: an expired takeover would read a batch twice.
const LEASE_DURATION_MS = 3_000;

describe.skipIf(kmsMissing)('Function: createPoller, several consumers of one region sharing shards by lease', () => {
  const region = regions[0] as string;
  let fixture: PipelineFixture | undefined;
  const consumers: ConsumerHarness[] = [];

  afterEach(async () => {
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    consumers.length = 0;
    fixture?.close();
    fixture = undefined;
  });

  async function consumer(pipeline: PipelineFixture, workerId: string): Promise<ConsumerHarness> {
    const harness = await createConsumerHarness({
      pipeline,
      region,
      kmsEndpoint: motoEndpoint(),
      env: { LEASE_DURATION_MS: String(LEASE_DURATION_MS), WORKER_ID: workerId, SHARD_DISCOVERY_INTERVAL_MS: '1000' },
    });
    consumers.push(harness);
    harness.poller.start();
    return harness;
  }

  const held = (harnesses: readonly ConsumerHarness[]) =>
    harnesses.map((harness) => harness.poller.heldShards().length).sort((a, b) => a - b);
  const sum = async (harnesses: readonly ConsumerHarness[], name: string) =>
    (await Promise.all(harnesses.map((harness) => metricValue(harness.registry, name, { region })))).reduce(
      (total, value) => total + value,
      0,
    );

  /** Puts `count` records spread over the stream's shards; resolves with their ids. */
  async function putRecords(pipeline: PipelineFixture, count: number, shards: number): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const id = `fleet-${randomUUID()}`;
      ids.push(id);
      await pipeline.put(region, index % shards, await pipeline.encrypt({ id, index }));
    }
    return ids;
  }

  it('shares six shards evenly, rebalances when one joins and one leaves, and the graceful handoff reads nothing twice', async () => {
    // Prepare
    fixture = await createPipelineFixture({ shardCount: 6 });
    const pipeline = fixture;
    const a = await consumer(pipeline, 'worker-a');
    const b = await consumer(pipeline, 'worker-b');
    await eventually('two consumers with three shards each', () => (held([a, b]).join() === '3,3' ? true : undefined));
    const first = await putRecords(pipeline, 60, 6);
    await eventually('the first records stored', async () =>
      (await sum([a, b], 'consumer_records_written_total')) >= first.length ? true : undefined,
    );

    // Act: a third joins while records flow (it asks the others for two leases), then the first
    // leaves gracefully (what SIGTERM runs)
    const flowing = putRecords(pipeline, 150, 6);
    const c = await consumer(pipeline, 'worker-c');
    await eventually(
      'three consumers with two shards each',
      () => (held([a, b, c]).join() === '2,2,2' ? true : undefined),
      {
        attempts: 300,
      },
    );
    const second = await flowing;
    await a.poller.stop();
    await eventually('the other two with three shards each', () => (held([b, c]).join() === '3,3' ? true : undefined));
    const third = await putRecords(pipeline, 60, 6);
    await eventually('every record stored', async () =>
      (await pipeline.count(region, pipeline.tableName)) >= first.length + second.length + third.length
        ? true
        : undefined,
    );

    // Assess
    const total = first.length + second.length + third.length;
    expect(await pipeline.count(region, pipeline.tableName)).toBe(total);
    // Every record was read once, by one consumer, across the handoffs to the newcomer and the graceful leave.
    expect(await sum([a, b, c], 'consumer_records_read_total')).toBe(total);
    expect(await sum([a, b, c], 'consumer_stale_writes_skipped_total')).toBe(0);
    // c was handed two leases by busier consumers; a's released leases were taken as free ones, none left to expire.
    expect(
      await metricValue(c.registry, 'consumer_lease_takeovers_total', { region, from: 'stolen' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      (await metricValue(b.registry, 'consumer_lease_takeovers_total', { from: 'free' })) +
        (await metricValue(c.registry, 'consumer_lease_takeovers_total', { from: 'free' })),
    ).toBeGreaterThanOrEqual(2);
    expect(await sum([a, b, c], 'consumer_lease_takeovers_total')).toBeGreaterThanOrEqual(6 + 2 + 2);
    expect(
      (await metricValue(b.registry, 'consumer_lease_takeovers_total', { from: 'expired' })) +
        (await metricValue(c.registry, 'consumer_lease_takeovers_total', { from: 'expired' })),
    ).toBe(0);
  });

  it("reads a split shard's children only after the parent, whoever holds them, and keeps every id at its latest version", async () => {
    // Prepare: three consumers over two shards; five versions of each id, the split between the second and third
    fixture = await createPipelineFixture({ shardCount: 2 });
    const pipeline = fixture;
    const fleet = [await consumer(pipeline, 'r-a'), await consumer(pipeline, 'r-b'), await consumer(pipeline, 'r-c')];
    await eventually('both shards leased', () => (held(fleet).reduce((x, y) => x + y, 0) === 2 ? true : undefined));
    const ids = Array.from({ length: 20 }, () => `v-${randomUUID()}`);
    const kinesis = pipeline.clients.kinesis(region);
    const putVersion = async (version: number) => {
      for (const id of ids) {
        const data = await pipeline.encrypt({ id, version });
        await kinesis.send(
          new PutRecordCommand({
            StreamName: pipeline.streamName,
            PartitionKey: id,
            Data: data,
          }),
        );
      }
    };

    // Act
    await putVersion(1);
    await putVersion(2);
    await kinesis.send(
      new SplitShardCommand({
        StreamName: pipeline.streamName,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: String(2n ** 126n),
      }),
    );
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30 }, { StreamName: pipeline.streamName });
    for (let version = 3; version <= 5; version++) await putVersion(version);
    await eventually(
      'every id at version 5',
      async () => {
        const stored = await Promise.all(ids.map((id) => pipeline.storedRecord(region, id)));
        return stored.every((record) => record?.version === 5) ? true : undefined;
      },
      { attempts: 300 },
    );

    // Assess: the three open shards are leased, parents read to their end; nothing older written over newer
    await eventually('three open shards leased', () =>
      held(fleet).reduce((x, y) => x + y, 0) === 3 ? true : undefined,
    );
    expect(await sum(fleet, 'consumer_records_read_total')).toBe(ids.length * 5);
    expect(await sum(fleet, 'consumer_stale_writes_skipped_total')).toBe(0);
    // The order, across the fleet: the parent read to its end before either child was taken.
    const lines = fleet.flatMap((harness) => harness.logger.lines).sort((x, y) => x.order - y.order);
    const parentEnd = lines.find(
      (line) => line.message === 'shard closed and fully read' && line.details.shardId === 'shardId-000000000000',
    );
    const childTakes = lines.filter(
      (line) =>
        line.message === 'lease taken' &&
        ['shardId-000000000002', 'shardId-000000000003'].includes(line.details.shardId as string),
    );
    expect(parentEnd).toBeDefined();
    expect(childTakes.length).toBeGreaterThanOrEqual(2);
    expect(childTakes.every((line) => line.order > (parentEnd?.order ?? Number.POSITIVE_INFINITY))).toBe(true);
    const lastVersions = await Promise.all(ids.map((id) => pipeline.storedRecord(region, id)));
    expect(lastVersions.map((record) => record?.version)).toEqual(ids.map(() => 5));
  });
  it('removes the lease rows of shards trimmed from the stream, says when one was never finished, and keeps every listed shard', async () => {
    // Prepare: rows left by shards past the stream's retention (one read to its end, one whose
    // owner died before releasing it, one never finished), and a split whose parent is still listed
    fixture = await createPipelineFixture({ shardCount: 2 });
    const pipeline = fixture;
    const dynamodb = pipeline.clients.dynamodb(region);
    const row = (shardId: string, checkpoint: string, owner?: string) =>
      dynamodb.send(
        new PutItemCommand({
          TableName: pipeline.checkpointTableName,
          Item: {
            id: { S: `${pipeline.streamName}/${shardId}` },
            stream: { S: pipeline.streamName },
            shardId: { S: shardId },
            leaseCounter: { N: '7' },
            checkpoint: { S: checkpoint },
            parentShardIds: { L: [] },
            ...(owner === undefined ? {} : { leaseOwner: { S: owner } }),
          },
        }),
      );
    await row('shardId-000000000097', 'SHARD_END', 'a-worker-that-died');
    await row('shardId-000000000098', '49590338271490256608559692538361571095921575989136588898');
    await row('shardId-000000000099', 'SHARD_END');
    const kinesis = pipeline.clients.kinesis(region);
    await kinesis.send(
      new SplitShardCommand({
        StreamName: pipeline.streamName,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: String(2n ** 126n),
      }),
    );
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30 }, { StreamName: pipeline.streamName });

    // Act
    const a = await consumer(pipeline, 'clean-a');

    // Assess
    const shardIds = async () => {
      const { Items } = await dynamodb.send(
        new ScanCommand({ TableName: pipeline.checkpointTableName, ConsistentRead: true }),
      );
      return (Items ?? []).map((item) => ({ shardId: item.shardId?.S, checkpoint: item.checkpoint?.S }));
    };
    await eventually('the trimmed rows removed, the split parent read to its end, its children read', async () => {
      const rows = await shardIds();
      const parent = rows.find((entry) => entry.shardId === 'shardId-000000000000');
      return rows.length === 4 && parent?.checkpoint === 'SHARD_END' && held([a]).join() === '3' ? rows : undefined;
    });
    const rows = await shardIds();
    expect(rows.map((entry) => entry.shardId).sort()).toEqual([
      'shardId-000000000000',
      'shardId-000000000001',
      'shardId-000000000002',
      'shardId-000000000003',
    ]);
    // Removing the row of a shard trimmed unread is an alarm: its records were lost before anyone read them.
    const lost = a.logger.lines.filter((line) => line.level === 'error');
    expect(lost.map((line) => line.details.shardId)).toEqual(['shardId-000000000098']);
    expect(
      await metricValue(a.registry, 'consumer_trimmed_leases_removed_total', { region, read_to_end: 'false' }),
    ).toBe(1);
    expect(
      await metricValue(a.registry, 'consumer_trimmed_leases_removed_total', { region, read_to_end: 'true' }),
    ).toBe(2);
  });
});
