import { randomUUID } from 'node:crypto';
import {
  type _Record,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-kinesis';
import { KmsProxy } from '@records/local-stack/testing';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dynamodbEndpoints, kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { bundleLambda, invokeBundle, runBundle } from '../support/lambda-runtime.js';
import { createPipelineFixture, type PipelineFixture, type PutResult } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the Lambda handler suite');

/** A Kinesis event as Lambda's event source mapping builds it, from the stream's real GetRecords output. */
async function eventFrom(fixture: PipelineFixture, region: string, shardId: string): Promise<KinesisStreamEvent> {
  const kinesis = fixture.clients.kinesis(region);
  const { StreamDescriptionSummary } = await kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: fixture.streamName }),
  );
  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: fixture.streamName,
      ShardId: shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const { Records = [] } = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
  const arn = StreamDescriptionSummary?.StreamARN as string;
  return {
    Records: Records.map((record: _Record) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.PartitionKey as string,
        sequenceNumber: record.SequenceNumber as string,
        data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${record.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/consumer',
      awsRegion: region,
      eventSourceARN: arn,
    })),
  };
}

describe.skipIf(kmsMissing)('Function: handler (the consumer bundled for AWS Lambda)', () => {
  const region = regions[1] as string;
  let handlerFile: string;
  let fixture: PipelineFixture | undefined;
  const proxies: KmsProxy[] = [];

  beforeAll(async () => {
    handlerFile = await bundleLambda();
  });

  afterEach(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    proxies.length = 0;
    fixture?.close();
    fixture = undefined;
  });

  function environment(pipeline: PipelineFixture, endpoints: { kms: string; dynamodb: string }) {
    return {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_MAX_ATTEMPTS: '1',
      AWS_ENDPOINT_URL_KMS: endpoints.kms,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      TABLE_NAME: pipeline.tableName,
      DEAD_LETTER_TABLE_NAME: pipeline.deadLetterTableName,
      KMS_KEY_ALIAS: pipeline.kmsKeyAlias,
      LOG_LEVEL: 'warn',
      // An outage is waited out this long in each invocation: long enough to retry, short for a test.
      LAMBDA_OUTAGE_WAIT_MS: '1500',
    };
  }

  async function recordsOnOneShard(count: number, options: { cachingProducer?: boolean } = {}) {
    fixture = await createPipelineFixture({ shardCount: 1, ...options });
    const records = Array.from({ length: count }, (_, index) => ({
      id: `lambda-${randomUUID()}`,
      index,
      big: 2n ** 64n,
    }));
    const puts: PutResult[] = [];
    for (const record of records) {
      const plaintext = `{"id":"${record.id}","index":${record.index},"big":${record.big}}`;
      puts.push(await fixture.put(region, 0, await fixture.encryptText(plaintext)));
    }
    return { fixture, records, puts };
  }

  it('stores every record of the real stream, keeps its data key cache across invocations, and dead-letters poison', async () => {
    // Prepare
    const { fixture, records, puts } = await recordsOnOneShard(30);
    const poison = await fixture.put(region, 0, new Uint8Array(Buffer.from('not an encrypted message')));
    const kms = await KmsProxy.start(motoEndpoint());
    proxies.push(kms);
    const event = await eventFrom(fixture, region, (puts[0] as PutResult).shardId);
    const halves = [{ Records: event.Records.slice(0, 15) }, { Records: event.Records.slice(15) }];
    const env = environment(fixture, { kms: kms.url, dynamodb: dynamodbEndpoints()[region] as string });

    // Act
    const answers = await invokeBundle(handlerFile, env, halves);

    // Assess
    expect(answers).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    for (const record of records) {
      const item = await fixture.item(region, fixture.tableName, record.id);
      expect(item?.big).toEqual({ N: '18446744073709551616' });
      expect(item?.index).toEqual({ N: String(record.index) });
      expect(item?._pipeline?.M?.sequenceNumber).toEqual({ S: (puts[record.index] as PutResult).sequenceNumber });
    }
    const letter = await fixture.item(
      region,
      fixture.deadLetterTableName,
      `${poison.shardId}:${poison.sequenceNumber}`,
    );
    expect(letter?.reason).toEqual({ S: 'DECRYPT_FAILED' });
    // One data key for all 30 records, unwrapped once across both invocations.
    expect(kms.count({ operation: 'Decrypt' })).toBe(1);
  });

  it('answers a DynamoDB outage with batchItemFailures from the first record not stored, and finishes on retry', async () => {
    // Prepare
    const { fixture, records, puts } = await recordsOnOneShard(60);
    const dynamodb = await KmsProxy.start(dynamodbEndpoints()[region] as string);
    proxies.push(dynamodb);
    const event = await eventFrom(fixture, region, (puts[0] as PutResult).shardId);
    const env = environment(fixture, { kms: motoEndpoint(), dynamodb: dynamodb.url });
    // The first chunk of 25 is written; every write after it fails.
    dynamodb.refuse({ operation: 'PutItem' }, { after: 25 });

    // Act
    const [failed] = await invokeBundle(handlerFile, env, [event]);
    const storedDuringOutage = await fixture.count(region, fixture.tableName);
    dynamodb.restore();
    const firstNotDone = event.Records.findIndex(
      (record) => record.kinesis.sequenceNumber === failed?.batchItemFailures[0]?.itemIdentifier,
    );
    const [retried] = await invokeBundle(handlerFile, env, [{ Records: event.Records.slice(firstNotDone) }]);

    // Assess
    expect(failed?.batchItemFailures).toHaveLength(1);
    expect(firstNotDone).toBe(25);
    expect(storedDuringOutage).toBe(25);
    expect(retried).toEqual({ batchItemFailures: [] });
    for (const record of records)
      expect(await fixture.storedRecord(region, record.id)).toMatchObject({ id: record.id });
    expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(0);
  });

  it('retries through a KMS outage for its wait budget inside the invocation, then reports from the first record not done, skips nothing, and stores every record once KMS is back', async () => {
    // Prepare: a data key per record, so every record asks KMS; KMS goes away after the first chunk of 25
    const { fixture, records, puts } = await recordsOnOneShard(40, { cachingProducer: false });
    const kms = await KmsProxy.start(motoEndpoint());
    proxies.push(kms);
    const event = await eventFrom(fixture, region, (puts[0] as PutResult).shardId);
    const env = environment(fixture, { kms: kms.url, dynamodb: dynamodbEndpoints()[region] as string });
    kms.refuse({ operation: 'Decrypt' }, { after: 25 });

    // Act
    const [failed] = await invokeBundle(handlerFile, env, [event]);
    const during = {
      stored: await Promise.all(
        records.map(async (record) => (await fixture.storedRecord(region, record.id)) !== undefined),
      ),
      deadLetters: await fixture.count(region, fixture.deadLetterTableName),
      refused: kms.refusedCount({ operation: 'Decrypt' }),
    };
    kms.restore();
    const firstNotDone = event.Records.findIndex(
      (record) => record.kinesis.sequenceNumber === failed?.batchItemFailures[0]?.itemIdentifier,
    );
    const [retried] = await invokeBundle(handlerFile, env, [{ Records: event.Records.slice(firstNotDone) }]);

    // Assess
    expect(failed?.batchItemFailures).toEqual([{ itemIdentifier: (puts[25] as PutResult).sequenceNumber }]);
    expect(firstNotDone).toBe(25);
    expect(during.stored).toEqual(records.map((_, index) => index < 25));
    expect(during.deadLetters).toBe(0);
    // Tried again inside the invocation: more refusals than the one chunk's first try met.
    expect(during.refused).toBeGreaterThan(16);
    expect(retried).toEqual({ batchItemFailures: [] });
    for (const record of records) {
      expect(await fixture.storedRecord(region, record.id)).toEqual({
        id: record.id,
        index: record.index,
        big: 2n ** 64n,
      });
    }
    expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(0);
  });

  it('waits out a KMS outage that ends within LAMBDA_OUTAGE_WAIT_MS in the same invocation: nothing reported for retry, every record stored', async () => {
    // Prepare: KMS refuses every Decrypt from the start
    const { fixture, records, puts } = await recordsOnOneShard(10, { cachingProducer: false });
    const kms = await KmsProxy.start(motoEndpoint());
    proxies.push(kms);
    const event = await eventFrom(fixture, region, (puts[0] as PutResult).shardId);
    const env = {
      ...environment(fixture, { kms: kms.url, dynamodb: dynamodbEndpoints()[region] as string }),
      LAMBDA_OUTAGE_WAIT_MS: '60000',
    };
    kms.refuse({ operation: 'Decrypt' });

    // Act: KMS comes back once the handler has been turned away a few times
    const invocation = invokeBundle(handlerFile, env, [event]);
    await eventually('the handler turned away three times', () =>
      kms.refusedCount({ operation: 'Decrypt' }) >= 3 * 10 ? true : undefined,
    );
    const storedDuringOutage = await fixture.count(region, fixture.tableName);
    kms.restore();
    const [answer] = await invocation;

    // Assess
    expect(storedDuringOutage).toBe(0);
    expect(answer).toEqual({ batchItemFailures: [] });
    for (const record of records)
      expect(await fixture.storedRecord(region, record.id)).toMatchObject({ id: record.id });
    expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(0);
  });

  it('keeps the newest version of an id through the same guard: an older version or an unversioned record later in the stream changes nothing', async () => {
    // Prepare
    fixture = await createPipelineFixture({ shardCount: 1 });
    const id = `lambda-versions-${randomUUID()}`;
    const newer = '000001764790000005-000000-a1b2c3d4';
    const older = '000001764790000001-000000-a1b2c3d4';
    const first = await fixture.put(region, 0, await fixture.encrypt({ id, n: 2, _pipeline: { version: newer } }));
    await fixture.put(region, 0, await fixture.encrypt({ id, n: 1, _pipeline: { version: older } }));
    await fixture.put(region, 0, await fixture.encrypt({ id, n: 0 }));
    const event = await eventFrom(fixture, region, first.shardId);
    const env = environment(fixture, { kms: motoEndpoint(), dynamodb: dynamodbEndpoints()[region] as string });

    // Act: one record per invocation, so each is a write of its own against what is stored.
    const answers = await invokeBundle(
      handlerFile,
      env,
      event.Records.map((record) => ({ Records: [record] })),
    );

    // Assess
    expect(answers).toEqual(event.Records.map(() => ({ batchItemFailures: [] })));
    const item = await fixture.item(region, fixture.tableName, id);
    expect(item?.n).toEqual({ N: '2' });
    expect(item?._pipeline?.M?.version).toEqual({ S: newer });
    expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(0);
  });

  it('prints each invocation as one EMF line in the namespace, with service and stream as dimensions and the counts of that invocation', async () => {
    // Prepare: two new records and one not a message, then an older version of the first
    fixture = await createPipelineFixture({ shardCount: 1 });
    const id = `lambda-emf-${randomUUID()}`;
    const newer = '000001764790000005-000000-a1b2c3d4';
    const older = '000001764790000001-000000-a1b2c3d4';
    const first = await fixture.put(region, 0, await fixture.encrypt({ id, _pipeline: { version: newer } }));
    await fixture.put(region, 0, await fixture.encrypt({ id: `${id}-other` }));
    await fixture.put(region, 0, new Uint8Array(Buffer.from('not an encrypted message')));
    await fixture.put(region, 0, await fixture.encrypt({ id, _pipeline: { version: older } }));
    const event = await eventFrom(fixture, region, first.shardId);
    const env = {
      ...environment(fixture, { kms: motoEndpoint(), dynamodb: dynamodbEndpoints()[region] as string }),
      POWERTOOLS_METRICS_NAMESPACE: 'RecordsPipeline',
      POWERTOOLS_SERVICE_NAME: 'consumer',
    };
    const oldestArrival = event.Records[0]?.kinesis.approximateArrivalTimestamp as number;

    // Act
    const { answers, stdout } = await runBundle(handlerFile, env, [
      { Records: event.Records.slice(0, 3) },
      { Records: event.Records.slice(3) },
    ]);
    const ranUntil = Date.now();

    // Assess
    expect(answers).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    const lines = stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    const emf = lines.filter((line) => '_aws' in line);
    expect(emf).toHaveLength(2);
    for (const line of emf) {
      expect(line._aws).toEqual({
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'RecordsPipeline',
            Dimensions: [['service', 'stream']],
            Metrics: [
              { Name: 'consumer_millis_behind_latest', Unit: 'Milliseconds' },
              { Name: 'consumer_records_written', Unit: 'Count' },
              { Name: 'consumer_records_dead_lettered', Unit: 'Count' },
              { Name: 'consumer_stale_writes_skipped', Unit: 'Count' },
            ],
          },
        ],
      });
      expect(line).toMatchObject({ service: 'consumer', stream: fixture.streamName });
    }
    const counts = emf.map(
      ({ consumer_records_written, consumer_records_dead_lettered, consumer_stale_writes_skipped }) => ({
        consumer_records_written,
        consumer_records_dead_lettered,
        consumer_stale_writes_skipped,
      }),
    );
    expect(counts).toEqual([
      { consumer_records_written: 2, consumer_records_dead_lettered: 1, consumer_stale_writes_skipped: 0 },
      { consumer_records_written: 0, consumer_records_dead_lettered: 0, consumer_stale_writes_skipped: 1 },
    ]);
    const lag = emf[0]?.consumer_millis_behind_latest as number;
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThanOrEqual(ranUntil - oldestArrival * 1000);
    // The log lines are JSON on stdout too, and quote no record.
    const logs = lines.filter((line) => !('_aws' in line));
    expect(logs.some((line) => line.msg === 'record dead-lettered')).toBe(true);
    expect(stdout.join('\n')).not.toContain(id);
  });
});
