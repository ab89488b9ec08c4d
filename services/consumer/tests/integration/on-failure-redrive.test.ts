import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { OnFailureSummary } from '../../src/on-failure-redrive.js';
import {
  credentials,
  dynamodbEndpoints,
  kinesisEndpoint,
  kmsMissing,
  motoEndpoint,
  regions,
  warnIfKmsMissing,
} from '../support/emulators.js';
import { createPipelineFixture, type PipelineFixture, type PutResult } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the on-failure queue redrive suite');

const ENTRY = resolve(import.meta.dirname, '../../src/redrive-main.ts');
const ROOT = resolve(import.meta.dirname, '../../../..');

/** Lambda's on-failure record for a Kinesis batch, as the event source mapping sends it to SQS. */
function onFailureRecord(streamArn: string, shardId: string, first: string, last: string, batchSize: number) {
  return JSON.stringify({
    requestContext: {
      requestId: randomUUID(),
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:consumer',
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 3,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    KinesisBatchInfo: {
      shardId,
      startSequenceNumber: first,
      endSequenceNumber: last,
      approximateArrivalOfFirstRecord: new Date().toISOString(),
      approximateArrivalOfLastRecord: new Date().toISOString(),
      batchSize,
      streamArn,
    },
  });
}

describe.skipIf(kmsMissing)('pnpm redrive --queue (the Lambda on-failure queue, on moto SQS)', () => {
  const region = regions[1] as string;
  let fixture: PipelineFixture | undefined;
  let sqs: SQSClient | undefined;
  let queueUrl: string | undefined;

  afterEach(async () => {
    if (queueUrl !== undefined) await sqs?.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    sqs?.destroy();
    fixture?.close();
    fixture = undefined;
    sqs = undefined;
    queueUrl = undefined;
  });

  /** `pnpm redrive` itself, in a process of its own, configured by its environment as a user would. */
  async function redrive(pipeline: PipelineFixture, args: readonly string[], env: Record<string, string> = {}) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', ENTRY, '--region', region, ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_ENDPOINT_URL_KINESIS: kinesisEndpoint(),
          AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoints()[region] as string,
          AWS_ENDPOINT_URL_KMS: motoEndpoint(),
          AWS_ENDPOINT_URL_SQS: motoEndpoint(),
          REGIONS: regions.join(','),
          STREAM_NAME: pipeline.streamName,
          TABLE_NAME: pipeline.tableName,
          DEAD_LETTER_TABLE_NAME: pipeline.deadLetterTableName,
          KMS_KEY_ALIAS: pipeline.kmsKeyAlias,
          LOG_LEVEL: 'warn',
          ...env,
        },
      },
    );
    return JSON.parse(stdout) as OnFailureSummary;
  }

  it('stores the records of every range still in the stream, deletes their messages, and reports the ranges gone in whole or in part and keeps theirs', async () => {
    // Prepare: 30 records on one shard; the queue names the first ten, ten whose first record the
    // stream no longer holds (trimmed), the last five, and a shard the stream no longer has
    fixture = await createPipelineFixture({ shardCount: 1 });
    const records = Array.from({ length: 30 }, (_, index) => ({ id: `redrive-${randomUUID()}`, index }));
    const puts: PutResult[] = [];
    for (const record of records) puts.push(await fixture.put(region, 0, await fixture.encrypt(record)));
    const { StreamDescriptionSummary } = await fixture.clients
      .kinesis(region)
      .send(new DescribeStreamSummaryCommand({ StreamName: fixture.streamName }));
    const arn = StreamDescriptionSummary?.StreamARN as string;
    const shardId = (puts[0] as PutResult).shardId;
    const at = (index: number) => (puts[index] as PutResult).sequenceNumber;
    sqs = new SQSClient({ region, endpoint: motoEndpoint(), credentials });
    ({ QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `on-failure-${randomUUID()}` })));
    for (const body of [
      onFailureRecord(arn, shardId, at(0), at(9), 10),
      onFailureRecord(arn, shardId, String(BigInt(at(10)) - 1n), at(19), 10),
      onFailureRecord(arn, shardId, at(25), at(29), 5),
      onFailureRecord(arn, 'shardId-000000000099', at(20), at(24), 5),
    ]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    }

    // Act
    const summary = await redrive(fixture, ['--queue', queueUrl as string]);

    // Assess
    expect(summary.messages).toBe(4);
    expect(summary.unreadable).toBe(0);
    const byEnd = (end: string) => summary.ranges.find((range) => range.endSequenceNumber === end);
    expect(byEnd(at(9))).toMatchObject({ outcome: 'redriven', stored: 10, deadLettered: 0, messageDeleted: true });
    expect(byEnd(at(29))).toMatchObject({ outcome: 'redriven', stored: 5, deadLettered: 0, messageDeleted: true });
    expect(byEnd(at(19))).toMatchObject({ outcome: 'partly-gone', stored: 10, messageDeleted: false });
    expect(byEnd(at(24))).toEqual({
      stream: fixture.streamName,
      shardId: 'shardId-000000000099',
      startSequenceNumber: at(20),
      endSequenceNumber: at(24),
      outcome: 'gone',
      stored: 0,
      deadLettered: 0,
      messageDeleted: false,
    });
    // Exactly the records the ranges name, and still held, are stored.
    for (const record of records) {
      const stored = await fixture.storedRecord(region, record.id);
      if (record.index < 20 || record.index >= 25) expect(stored).toEqual(record);
      else expect(stored).toBeUndefined();
    }
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    // Only the messages of the ranges not whole are left, hidden for the visibility timeout of this run.
    expect(Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '2' });
  });

  it('deletes the message of a gone range once reported, with --delete-gone, reading the queue from REDRIVE_QUEUE_URL', async () => {
    // Prepare
    fixture = await createPipelineFixture({ shardCount: 1 });
    const put = await fixture.put(region, 0, await fixture.encrypt({ id: `redrive-${randomUUID()}` }));
    const { StreamDescriptionSummary } = await fixture.clients
      .kinesis(region)
      .send(new DescribeStreamSummaryCommand({ StreamName: fixture.streamName }));
    sqs = new SQSClient({ region, endpoint: motoEndpoint(), credentials });
    ({ QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `on-failure-${randomUUID()}` })));
    const arn = StreamDescriptionSummary?.StreamARN as string;
    const gone = onFailureRecord(arn, 'shardId-000000000042', put.sequenceNumber, put.sequenceNumber, 1);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: gone }));

    // Act
    const summary = await redrive(fixture, ['--delete-gone'], { REDRIVE_QUEUE_URL: queueUrl as string });

    // Assess
    expect(summary.ranges).toEqual([expect.objectContaining({ outcome: 'gone', messageDeleted: true })]);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });
});
