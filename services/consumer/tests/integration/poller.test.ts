import { randomBytes, randomUUID } from 'node:crypto';
import {
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordCommand,
  UpdateShardCountCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture, type PutResult } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the poller suite');

function orders(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `order-${randomUUID()}`,
    index,
    customer: { name: 'Zoë Ålander ✓', tags: ['vip', 'eu'] },
    lines: [{ sku: `SKU-${index}`, qty: index + 1, price: 9.99 }],
    paid: index % 2 === 0,
    note: null,
  }));
}

describe.skipIf(kmsMissing)(
  'Function: createPoller (with createRecordProcessor, over kinesis-local, dynalite and moto)',
  () => {
    // The second region: its consumer unwraps with its own key, not the key that generated the data key.
    const region = regions[1] ?? (regions[0] as string);
    let pipeline: PipelineFixture | undefined;
    let consumer: ConsumerHarness | undefined;

    afterEach(async () => {
      await consumer?.stop();
      pipeline?.close();
      consumer = undefined;
      pipeline = undefined;
    });

    async function counters(harness: ConsumerHarness) {
      const deadLettered = (reason: string) =>
        metricValue(harness.registry, 'consumer_records_dead_lettered_total', { region, reason });
      return {
        written: await metricValue(harness.registry, 'consumer_records_written_total', { region }),
        deadLettered: await metricValue(harness.registry, 'consumer_records_dead_lettered_total', { region }),
        contextMismatch: await deadLettered('CONTEXT_MISMATCH'),
        decryptFailed: await deadLettered('DECRYPT_FAILED'),
        itemRejected: await deadLettered('ITEM_REJECTED'),
      };
    }

    it('writes every record equal to what was put, and dead-letters a foreign and a garbage record without holding back the records after them', async () => {
      // Prepare
      pipeline = await createPipelineFixture({ shardCount: 2 });
      const fixture = pipeline;
      const records = orders(6);
      const foreign = await fixture.put(
        region,
        0,
        await fixture.encrypt({ id: `foreign-${randomUUID()}` }, `${fixture.streamName}-other`),
      );
      const garbage = await fixture.put(region, 0, new Uint8Array(randomBytes(96)));
      const puts: PutResult[] = [];
      for (const [index, record] of records.entries()) {
        puts.push(await fixture.put(region, index < 3 ? 0 : 1, await fixture.encrypt(record)));
      }
      // Two records per GetRecords: the dead letters and the records behind them arrive in separate batches.
      consumer = await createConsumerHarness({
        pipeline: fixture,
        region,
        kmsEndpoint: motoEndpoint(),
        getRecordsLimit: 2,
      });
      const harness = consumer;

      // Act
      harness.poller.start();
      await eventually('the poller ready', () => (harness.poller.isReady() ? true : undefined));
      const final = await eventually('every record written or dead-lettered', async () => {
        const now = await counters(harness);
        return now.written + now.deadLettered >= records.length + 2 ? now : undefined;
      });
      const stopping = harness.poller.stop();

      // Assess
      await expect(stopping).resolves.toBeUndefined();
      expect(harness.poller.isReady()).toBe(false);
      expect(final).toEqual({ written: 6, deadLettered: 2, contextMismatch: 1, decryptFailed: 1, itemRejected: 0 });
      expect(new Set(puts.map((put) => put.shardId)).size).toBe(2);
      for (const [index, record] of records.entries()) {
        const put = puts[index] as PutResult;
        expect(await fixture.storedRecord(region, record.id as string)).toEqual(record);
        const item = await fixture.item(region, fixture.tableName, record.id as string);
        expect(item?._pipeline?.M).toMatchObject({
          stream: { S: fixture.streamName },
          region: { S: region },
          shardId: { S: put.shardId },
          sequenceNumber: { S: put.sequenceNumber },
        });
      }
      expect(await fixture.count(region, fixture.tableName)).toBe(6);
      expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(2);
      for (const [letter, reason] of [
        [foreign, 'CONTEXT_MISMATCH'],
        [garbage, 'DECRYPT_FAILED'],
      ] as const) {
        const item = await fixture.item(
          region,
          fixture.deadLetterTableName,
          `${letter.shardId}:${letter.sequenceNumber}`,
        );
        expect(item).toMatchObject({
          reason: { S: reason },
          stream: { S: fixture.streamName },
          region: { S: region },
          shardId: { S: letter.shardId },
          sequenceNumber: { S: letter.sequenceNumber },
        });
        expect(Buffer.from(item?.ciphertext?.B ?? new Uint8Array()).equals(Buffer.from(letter.data))).toBe(true);
      }
    });

    it('dead-letters a record whose item DynamoDB refuses as ITEM_REJECTED and writes the records beside it', async () => {
      // Prepare
      pipeline = await createPipelineFixture({ shardCount: 1 });
      const fixture = pipeline;
      const before = { id: `small-${randomUUID()}`, n: 1 };
      // Over DynamoDB's 400 KB item limit, well under Kinesis's 1 MB record limit.
      const oversized = { id: `large-${randomUUID()}`, blob: 'x'.repeat(420 * 1024) };
      const after = { id: `small-${randomUUID()}`, n: 2 };
      await fixture.put(region, 0, await fixture.encrypt(before));
      const large = await fixture.put(region, 0, await fixture.encrypt(oversized));
      await fixture.put(region, 0, await fixture.encrypt(after));
      consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
      const harness = consumer;

      // Act
      harness.poller.start();
      const final = await eventually('every record written or dead-lettered', async () => {
        const now = await counters(harness);
        return now.written + now.deadLettered >= 3 ? now : undefined;
      });

      // Assess
      expect(final).toEqual({ written: 2, deadLettered: 1, contextMismatch: 0, decryptFailed: 0, itemRejected: 1 });
      expect(await fixture.storedRecord(region, before.id)).toEqual(before);
      expect(await fixture.storedRecord(region, after.id)).toEqual(after);
      expect(await fixture.item(region, fixture.tableName, oversized.id)).toBeUndefined();
      const letter = await fixture.item(
        region,
        fixture.deadLetterTableName,
        `${large.shardId}:${large.sequenceNumber}`,
      );
      // The ciphertext is over the dead-letter table's own item limit: it is kept whole, in parts.
      expect(letter).toMatchObject({ reason: { S: 'ITEM_REJECTED' }, ciphertextParts: { N: '2' } });
      expect(letter?.message?.S).toContain('a table holds items up to 400 KB');
    });

    it('dead-letters every record of a data key this region cannot unwrap, in one pass, and writes the records after them', async () => {
      // Prepare: 40 records sharing one data key wrapped only under another pipeline's keys
      pipeline = await createPipelineFixture({ shardCount: 1 });
      const fixture = pipeline;
      const stranger = await createPipelineFixture({ shardCount: 1 });
      for (let index = 0; index < 40; index++) {
        await fixture.put(region, 0, await stranger.encrypt({ id: `foreign-${index}` }, fixture.streamName));
      }
      stranger.close();
      const good = [{ id: `good-${randomUUID()}` }, { id: `good-${randomUUID()}` }];
      for (const record of good) await fixture.put(region, 0, await fixture.encrypt(record));
      consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
      const harness = consumer;

      // Act
      harness.poller.start();
      const final = await eventually('every record written or dead-lettered', async () => {
        const now = await counters(harness);
        return now.written + now.deadLettered >= 42 ? now : undefined;
      });

      // Assess
      expect(final).toEqual({ written: 2, deadLettered: 40, contextMismatch: 0, decryptFailed: 40, itemRejected: 0 });
      for (const record of good) expect(await fixture.storedRecord(region, record.id)).toEqual(record);
      expect(await metricValue(harness.registry, 'consumer_batch_retries_total')).toBe(0);
    });

    it('writes a record posted again after a reshard after its earlier version, reading the parent shard first', async () => {
      // Prepare: the parent holds many records, then version 1 of `id`; after a split, a child holds version 2
      pipeline = await createPipelineFixture({ shardCount: 1 });
      const fixture = pipeline;
      const id = `resharded-${randomUUID()}`;
      for (let index = 0; index < 150; index++)
        await fixture.put(region, 0, await fixture.encrypt({ id: `filler-${index}` }));
      await fixture.put(region, 0, await fixture.encrypt({ id, version: 1 }));
      const kinesis = fixture.clients.kinesis(region);
      await kinesis.send(
        new UpdateShardCountCommand({
          StreamName: fixture.streamName,
          TargetShardCount: 2,
          ScalingType: 'UNIFORM_SCALING',
        }),
      );
      await waitUntilStreamExists(
        { client: kinesis, maxWaitTime: 60, minDelay: 1 },
        { StreamName: fixture.streamName },
      );
      await eventually('the split to finish', async () => {
        const { StreamDescriptionSummary } = await kinesis.send(
          new DescribeStreamSummaryCommand({ StreamName: fixture.streamName }),
        );
        return StreamDescriptionSummary?.StreamStatus === 'ACTIVE' && StreamDescriptionSummary.OpenShardCount === 2
          ? true
          : undefined;
      });
      // The parent is closed now: the same hash key lands in the child that took over its range.
      const second = await kinesis.send(
        new PutRecordCommand({
          StreamName: fixture.streamName,
          PartitionKey: id,
          ExplicitHashKey: '0',
          Data: await fixture.encrypt({ id, version: 2 }),
        }),
      );
      const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: fixture.streamName }));
      expect(Shards?.find((shard) => shard.ShardId === second.ShardId)?.ParentShardId).toBeDefined();
      consumer = await createConsumerHarness({
        pipeline: fixture,
        region,
        kmsEndpoint: motoEndpoint(),
        getRecordsLimit: 10,
      });
      const harness = consumer;

      // Act
      harness.poller.start();
      await eventually('every record written', async () =>
        (await counters(harness)).written >= 152 ? true : undefined,
      );

      // Assess
      expect(await fixture.storedRecord(region, id)).toEqual({ id, version: 2 });
    });

    it('resumes after its checkpoint when restarted, reading only the records put while it was stopped', async () => {
      // Prepare
      pipeline = await createPipelineFixture({ shardCount: 1 });
      const fixture = pipeline;
      const records = orders(4);
      for (const record of records.slice(0, 2)) await fixture.put(region, 0, await fixture.encrypt(record));
      const earlier = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
      consumer = earlier;
      earlier.poller.start();
      await eventually('the first two records written', async () =>
        (await counters(earlier)).written >= 2 ? true : undefined,
      );
      await earlier.stop();
      let last: PutResult | undefined;
      for (const record of records.slice(2)) last = await fixture.put(region, 0, await fixture.encrypt(record));

      // Act
      const later = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
      consumer = later;
      later.poller.start();
      await eventually('the last two records written', async () =>
        (await counters(later)).written >= 2 ? true : undefined,
      );
      await eventually('the checkpoint at the last record', async () => {
        const checkpoint = await fixture.item(
          region,
          fixture.checkpointTableName,
          `${fixture.streamName}/${last?.shardId}`,
        );
        return checkpoint?.checkpoint?.S === last?.sequenceNumber ? true : undefined;
      });

      // Assess
      expect(await metricValue(later.registry, 'consumer_records_read_total', { region })).toBe(2);
      expect(await metricValue(later.registry, 'consumer_records_written_total', { region })).toBe(2);
      for (const record of records) {
        expect(await fixture.storedRecord(region, record.id as string)).toEqual(record);
      }
    });
  },
);
