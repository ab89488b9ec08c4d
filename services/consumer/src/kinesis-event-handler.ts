import type { _Record } from '@aws-sdk/client-kinesis';
import type { Logger } from '@records/observability';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { RecordProcessor } from './record-processor.js';

export interface KinesisEventHandlerDeps {
  /** The decrypt, verify and write core for records of one stream. */
  readonly processorFor: (streamName: string) => RecordProcessor;
  readonly logger: Pick<Logger, 'warn'>;
  /** Records handed to the processor at once; a failure is reported from the first record of its chunk. */
  readonly chunkSize: number;
  /** Left unprocessed (and reported for retry) when less than this much time remains. */
  readonly reserveMs: number;
}

/** What the Lambda runtime passes as the context: only the clock is used. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

// arn:aws:kinesis:<region>:<account>:stream/<name>
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([A-Za-z0-9_.-]+)$/;

/** A Lambda event record as the Kinesis record the poller would have read. */
function toKinesisRecord(record: KinesisStreamRecord): _Record {
  return {
    Data: Buffer.from(record.kinesis.data, 'base64'),
    SequenceNumber: record.kinesis.sequenceNumber,
    PartitionKey: record.kinesis.partitionKey,
    ApproximateArrivalTimestamp: new Date(record.kinesis.approximateArrivalTimestamp * 1000),
  };
}

/** `eventID` is `<shardId>:<sequenceNumber>`. */
function shardOf(record: KinesisStreamRecord): string {
  const separator = record.eventID.lastIndexOf(':');
  return separator > 0 ? record.eventID.slice(0, separator) : record.eventID;
}

/**
 * The consumer as a Lambda handler for a Kinesis event source mapping. Records are processed in
 * order, a chunk at a time, through the same core as the poller: written, or dead-lettered when
 * they can never be written. When a chunk cannot be finished (KMS or DynamoDB unavailable, or time
 * running out), the handler answers with `batchItemFailures` naming the first record not done, so
 * that ReportBatchItemFailures retries from there and nothing after it is skipped.
 */
export function createKinesisEventHandler(deps: KinesisEventHandlerDeps) {
  return async function handle(
    event: KinesisStreamEvent,
    context?: InvocationContext,
  ): Promise<KinesisStreamBatchResponse> {
    const groups = new Map<string, KinesisStreamRecord[]>();
    for (const record of event.Records) {
      const key = `${record.eventSourceARN}\u0000${shardOf(record)}`;
      const group = groups.get(key) ?? [];
      group.push(record);
      groups.set(key, group);
    }
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const records of groups.values()) {
      const first = records[0] as KinesisStreamRecord;
      const streamName = STREAM_ARN.exec(first.eventSourceARN)?.[1];
      if (streamName === undefined) {
        // Not a stream this handler can verify against: retried (and so visible), never written.
        deps.logger.warn({ eventSourceARN: first.eventSourceARN }, 'event source is not a Kinesis stream ARN');
        batchItemFailures.push({ itemIdentifier: first.kinesis.sequenceNumber });
        continue;
      }
      const processBatch = deps.processorFor(streamName);
      const shardId = shardOf(first);
      for (let start = 0; start < records.length; start += deps.chunkSize) {
        const chunk = records.slice(start, start + deps.chunkSize);
        const firstNotDone = (chunk[0] as KinesisStreamRecord).kinesis.sequenceNumber;
        if (context !== undefined && context.getRemainingTimeInMillis() < deps.reserveMs) {
          batchItemFailures.push({ itemIdentifier: firstNotDone });
          break;
        }
        try {
          await processBatch(shardId, chunk.map(toKinesisRecord));
        } catch (error) {
          deps.logger.warn({ shardId, err: error, sequenceNumber: firstNotDone }, 'chunk not done; reported for retry');
          batchItemFailures.push({ itemIdentifier: firstNotDone });
          break;
        }
      }
    }
    return { batchItemFailures };
  };
}
