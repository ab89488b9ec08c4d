import type { _Record } from '@aws-sdk/client-kinesis';
import type { Logger } from '@records/observability';
import { retry } from '@records/retry';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { TransientProcessingError } from './errors.js';
import type { RecordProcessor } from './record-processor.js';

export interface KinesisEventHandlerDeps {
  /** The decrypt, verify and write core for records of one stream. */
  readonly processorFor: (streamName: string) => RecordProcessor;
  readonly logger: Pick<Logger, 'warn'>;
  /** Records handed to the processor at once; a failure is reported from the first record of its chunk. */
  readonly chunkSize: number;
  /** Left unprocessed (and reported for retry) when less than this much time remains. */
  readonly reserveMs: number;
  /**
   * How long one invocation waits out our own outage (KMS or DynamoDB unavailable), retrying the
   * chunk that met it, before it reports the chunk for retry; never past the reserve.
   */
  readonly outageWaitMs: number;
  /** The waits between those tries: exponential with jitter, from `minDelayMs` up to `maxDelayMs`. */
  readonly outageBackoff?: { readonly minDelayMs: number; readonly maxDelayMs: number };
  /** Wall-clock ms; tests move it with fake timers. */
  readonly now?: () => number;
}

const OUTAGE_BACKOFF = Object.freeze({ minDelayMs: 250, maxDelayMs: 5_000 });

/** What the Lambda runtime passes as the context: only the clock is used. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

// arn:aws:kinesis:<region>:<account>:stream/<name>
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([A-Za-z0-9_.-]+)$/;

/** The stream's name in its ARN; undefined when the ARN is not a Kinesis stream's. */
export function streamNameOf(eventSourceARN: string): string | undefined {
  return STREAM_ARN.exec(eventSourceARN)?.[1];
}

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
 * they can never be written. During our own outage (KMS or DynamoDB unavailable) a chunk is tried
 * again with back-off for up to `outageWaitMs` of the invocation, so the mapping's retries are not
 * spent in milliseconds. When a chunk cannot be finished (the outage outlasts that, another
 * failure, or time running out), the handler answers with `batchItemFailures` naming the first
 * record not done, so that ReportBatchItemFailures retries from there and nothing after it is
 * skipped (a checkpoint, as KCL's, per shard).
 */
export function createKinesisEventHandler(deps: KinesisEventHandlerDeps) {
  const now = deps.now ?? Date.now;
  const backoff = deps.outageBackoff ?? OUTAGE_BACKOFF;
  return async function handle(
    event: KinesisStreamEvent,
    context?: InvocationContext,
  ): Promise<KinesisStreamBatchResponse> {
    // One budget for the whole invocation: a long outage is waited out once, not once per shard.
    const outageEnd = now() + deps.outageWaitMs;
    const tryThroughOutage = (shardId: string, action: () => Promise<unknown>) => {
      const timeLeft = context === undefined ? Number.POSITIVE_INFINITY : context.getRemainingTimeInMillis();
      const budget = Math.max(0, Math.min(outageEnd - now(), timeLeft - deps.reserveMs));
      return retry(action, {
        ...backoff,
        attempts: Number.POSITIVE_INFINITY,
        maxRetryTimeMs: budget,
        shouldRetry: (error) => error instanceof TransientProcessingError,
        onRetry: (error, attempt) =>
          deps.logger.warn({ shardId, err: error, attempt }, 'chunk not done; waiting out the outage'),
      });
    };
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
      const streamName = streamNameOf(first.eventSourceARN);
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
          const kinesisRecords = chunk.map(toKinesisRecord);
          await tryThroughOutage(shardId, () => processBatch(shardId, kinesisRecords));
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
