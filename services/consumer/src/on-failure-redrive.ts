import {
  type _Record,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@records/observability';
import { streamNameOf } from './kinesis-event-handler.js';
import type { RecordProcessor } from './record-processor.js';

/** What Lambda's on-failure record for a Kinesis event source names: one batch, by shard and sequence range. */
export interface KinesisBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly streamArn: string;
  readonly batchSize?: number;
}

export interface OnFailureRedriveDeps {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** The stream's client in the region the consumer runs in. */
  readonly kinesis: KinesisClient;
  readonly region: string;
  /** The consumer's own decrypt, verify and write core. */
  readonly processorFor: (streamName: string) => RecordProcessor;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Delete the message of a range that is gone, once reported; by default it is kept. */
  readonly deleteGone?: boolean;
  /** The long poll of each receive; the run ends at the first receive that returns nothing. */
  readonly waitTimeSeconds?: number;
  /** How long a message received here stays hidden from other readers. */
  readonly visibilityTimeoutSeconds?: number;
  /** Records put through the core at once. */
  readonly batchSize?: number;
  /** GetRecords calls one range may take before the run gives up on it (the message is kept). */
  readonly maxGetRecordsCalls?: number;
}

/** One range named by a message, and what became of it. */
interface RangeReport {
  readonly stream: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  /**
   * `redriven`: every record of the range was read from the stream and stored (or dead-lettered).
   * `partly-gone`: the stream no longer holds the range's start (trimmed); the rest was stored.
   * `gone`: the stream holds none of it any more (trimmed, or the shard or stream deleted).
   */
  readonly outcome: 'redriven' | 'partly-gone' | 'gone';
  readonly stored: number;
  readonly deadLettered: number;
  readonly messageDeleted: boolean;
}

export interface OnFailureSummary {
  readonly messages: number;
  readonly ranges: readonly RangeReport[];
  /** Messages that name no Kinesis range of this region (another region's stream, or not an on-failure record); kept. */
  readonly unreadable: number;
}

function compare(left: string, right: string): number {
  const a = BigInt(left);
  const b = BigInt(right);
  return a < b ? -1 : a > b ? 1 : 0;
}

const SEQUENCE = /^\d{1,128}$/;

/** The batch a Lambda on-failure record names, or undefined when the body is not one. */
export function parseOnFailureRecord(body: string | undefined): KinesisBatchInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
  const info = (parsed as { KinesisBatchInfo?: Record<string, unknown> } | null)?.KinesisBatchInfo;
  if (info === undefined || info === null || typeof info !== 'object') return undefined;
  const { shardId, startSequenceNumber, endSequenceNumber, streamArn, batchSize } = info;
  if (typeof shardId !== 'string' || typeof streamArn !== 'string') return undefined;
  if (typeof startSequenceNumber !== 'string' || !SEQUENCE.test(startSequenceNumber)) return undefined;
  if (typeof endSequenceNumber !== 'string' || !SEQUENCE.test(endSequenceNumber)) return undefined;
  return {
    shardId,
    startSequenceNumber,
    endSequenceNumber,
    streamArn,
    ...(typeof batchSize === 'number' ? { batchSize } : {}),
  };
}

function isNamed(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/** The region in `arn:aws:kinesis:<region>:…`. */
function regionOf(arn: string): string | undefined {
  return arn.split(':')[3];
}

/**
 * Reads a range back from the stream while it holds it: from its start sequence number (or, when the
 * stream no longer has that record, the shard's oldest) until past its end, the shard's end, or the tip.
 * Returns the range's records still held, in order; undefined when the shard or stream is gone.
 */
async function readRange(
  deps: OnFailureRedriveDeps,
  streamName: string,
  info: KinesisBatchInfo,
): Promise<_Record[] | undefined> {
  const position = async (at: Pick<GetShardIteratorCommandInput, 'ShardIteratorType' | 'StartingSequenceNumber'>) =>
    (await deps.kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: info.shardId, ...at })))
      .ShardIterator;
  let iterator: string | undefined;
  try {
    iterator = await position({
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: info.startSequenceNumber,
    });
  } catch (error) {
    // No record at the start any more (trimmed), or no such shard: what is left of the range, if
    // anything, is read from the shard's oldest record.
    if (!isNamed(error, 'InvalidArgumentException') && !isNamed(error, 'ResourceNotFoundException')) throw error;
    try {
      iterator = await position({ ShardIteratorType: 'TRIM_HORIZON' });
    } catch (horizonError) {
      if (isNamed(horizonError, 'ResourceNotFoundException')) return undefined;
      throw horizonError;
    }
  }
  const records: _Record[] = [];
  const maxCalls = deps.maxGetRecordsCalls ?? 1_000;
  for (let calls = 0; iterator !== undefined; calls++) {
    if (calls >= maxCalls) throw new Error(`${info.shardId}: the range was not read to its end in ${maxCalls} calls`);
    const output = await deps.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1_000 }));
    for (const record of output.Records ?? []) {
      const sequence = record.SequenceNumber ?? '0';
      if (compare(sequence, info.endSequenceNumber) > 0) return records;
      if (compare(sequence, info.startSequenceNumber) >= 0) records.push(record);
    }
    const atTip = (output.Records ?? []).length === 0 && output.MillisBehindLatest === 0;
    if (atTip) return records;
    iterator = output.NextShardIterator;
  }
  // The shard was closed (split or merged) after its last record.
  return records;
}

async function storeRange(deps: OnFailureRedriveDeps, streamName: string, shardId: string, records: _Record[]) {
  const batchSize = deps.batchSize ?? 100;
  let stored = 0;
  let deadLettered = 0;
  for (let start = 0; start < records.length; start += batchSize) {
    const outcome = await deps.processorFor(streamName)(shardId, records.slice(start, start + batchSize));
    stored += outcome.written.length;
    deadLettered += outcome.deadLettered.length;
  }
  return { stored, deadLettered };
}

async function redriveMessage(deps: OnFailureRedriveDeps, message: Message): Promise<RangeReport | undefined> {
  const info = parseOnFailureRecord(message.Body);
  const streamName = info === undefined ? undefined : streamNameOf(info.streamArn);
  if (info === undefined || streamName === undefined || regionOf(info.streamArn) !== deps.region) {
    deps.logger.warn(
      { messageId: message.MessageId, streamArn: info?.streamArn },
      'on-failure message names no Kinesis range of this region; kept',
    );
    return undefined;
  }
  const records = await readRange(deps, streamName, info);
  const { stored, deadLettered } =
    records === undefined ? { stored: 0, deadLettered: 0 } : await storeRange(deps, streamName, info.shardId, records);
  const outcome =
    records === undefined || records.length === 0
      ? 'gone'
      : records[0]?.SequenceNumber === info.startSequenceNumber
        ? 'redriven'
        : 'partly-gone';
  const deleted = outcome === 'redriven' || deps.deleteGone === true;
  if (deleted)
    await deps.sqs.send(new DeleteMessageCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: message.ReceiptHandle }));
  const report: RangeReport = {
    stream: streamName,
    shardId: info.shardId,
    startSequenceNumber: info.startSequenceNumber,
    endSequenceNumber: info.endSequenceNumber,
    outcome,
    stored,
    deadLettered,
    messageDeleted: deleted,
  };
  if (outcome === 'redriven') deps.logger.info(report, 'on-failure range redriven');
  else deps.logger.warn(report, 'on-failure range no longer held by the stream: its records are lost to the consumer');
  return report;
}

/**
 * Puts the batches that Lambda's event source mapping gave up on (its on-failure queue names them by
 * shard and sequence range, without their data) through the normal decrypt, verify and write path:
 * each range is read again from the stream while the stream still holds it. A message is deleted
 * once its range is stored; a range that is gone in whole or in part is reported, and its message
 * kept unless `deleteGone`. A failure (KMS or DynamoDB unavailable) ends the run with the message
 * kept: it is received again after its visibility timeout, and storing a range twice changes nothing.
 */
export async function redriveOnFailureQueue(deps: OnFailureRedriveDeps): Promise<OnFailureSummary> {
  const ranges: RangeReport[] = [];
  let messages = 0;
  let unreadable = 0;
  for (;;) {
    const { Messages = [] } = await deps.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deps.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: deps.waitTimeSeconds ?? 1,
        VisibilityTimeout: deps.visibilityTimeoutSeconds ?? 300,
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      messages++;
      const report = await redriveMessage(deps, message);
      if (report === undefined) unreadable++;
      else ranges.push(report);
    }
  }
  return { messages, ranges, unreadable };
}
