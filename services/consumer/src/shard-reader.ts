import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { backoffDelay, pause } from './backoff.js';
import type { ConsumerMetrics } from './metrics.js';
import type { RecordProcessor } from './record-processor.js';

export interface ShardReaderOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly region: string;
  readonly shardId: string;
  readonly processBatch: RecordProcessor;
  readonly metrics: ConsumerMetrics;
  readonly logger: { info(object: object, message: string): void; warn(object: object, message: string): void };
  readonly getRecordsLimit: number;
  readonly idlePollMs: number;
  /** Where reading starts; each shard starts at its oldest record when unset. */
  readonly startAfterSequenceNumber?: string;
  /** Called after a batch is fully written or dead-lettered, with its last sequence number. */
  readonly onBatchDone?: (sequenceNumber: string) => Promise<void>;
  /** Told when the shard stalls on a batch that keeps failing (true), and when it moves again (false). */
  readonly onStall?: (stalled: boolean) => void;
}

// Kinesis allows five GetRecords calls a second per shard.
const MIN_POLL_SPACING_MS = 200;

/**
 * Reads one shard with GetShardIterator and GetRecords until the shard is closed and drained, or
 * until stopped. A batch is retried until it is done, so the reader never moves past a record
 * that was neither written nor dead-lettered.
 */
export class ShardReader {
  readonly #options: ShardReaderOptions;
  #lastSequenceNumber: string | undefined;

  constructor(options: ShardReaderOptions) {
    this.#options = options;
    this.#lastSequenceNumber = options.startAfterSequenceNumber;
  }

  /**
   * Resolves `closed` when the shard has been read to its end, `stopped` when `signal` aborted,
   * `missing` when Kinesis no longer knows the shard.
   */
  async run(signal: AbortSignal): Promise<'closed' | 'stopped' | 'missing'> {
    const { kinesis, shardId, metrics, region, logger } = this.#options;
    let iterator: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      let output: GetRecordsCommandOutput;
      try {
        iterator ??= await this.#iterator();
        output = await kinesis.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: this.#options.getRecordsLimit }),
        );
        failures = 0;
      } catch (error) {
        if (error instanceof Error && error.name === 'ExpiredIteratorException') {
          iterator = undefined;
          continue;
        }
        if (error instanceof Error && error.name === 'ResourceNotFoundException') {
          // The stream or shard is gone, perhaps for a moment: not drained, so not checkpointed as ended.
          logger.warn({ shardId }, 'shard not found; it is looked for again at the next discovery');
          return 'missing';
        }
        failures++;
        logger.warn({ shardId, err: error, failures }, 'GetRecords failed; backing off');
        await pause(backoffDelay(failures, 200, 10_000), signal);
        continue;
      }
      const records = output.Records ?? [];
      // Counted here, once per record read, however often its batch is retried.
      if (records.length > 0) metrics.read.inc({ region }, records.length);
      if (output.MillisBehindLatest !== undefined) {
        metrics.millisBehindLatest.set({ region, shard_id: shardId }, output.MillisBehindLatest);
      }
      if (records.length > 0) {
        await this.#processUntilDone(records, signal);
        if (signal.aborted) return 'stopped';
      }
      if (output.NextShardIterator === undefined || output.NextShardIterator === null) {
        logger.info({ shardId }, 'shard closed and fully read');
        metrics.millisBehindLatest.remove({ region, shard_id: shardId });
        return 'closed';
      }
      iterator = output.NextShardIterator;
      const caughtUp = records.length === 0 || output.MillisBehindLatest === 0;
      await pause(caughtUp ? this.#options.idlePollMs : MIN_POLL_SPACING_MS, signal);
    }
    return 'stopped';
  }

  async #iterator(): Promise<string> {
    const after = this.#lastSequenceNumber;
    const type: ShardIteratorType = after === undefined ? 'TRIM_HORIZON' : 'AFTER_SEQUENCE_NUMBER';
    const { ShardIterator } = await this.#options.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.#options.streamName,
        ShardId: this.#options.shardId,
        ShardIteratorType: type,
        ...(after === undefined ? {} : { StartingSequenceNumber: after }),
      }),
    );
    if (ShardIterator === undefined) throw new Error('GetShardIterator returned no iterator');
    return ShardIterator;
  }

  async #processUntilDone(records: NonNullable<GetRecordsCommandOutput['Records']>, signal: AbortSignal) {
    const { shardId, region, metrics, logger } = this.#options;
    // Stopping mid-retry is safe: nothing past the last finished batch counts as read.
    const processed = await this.#retry(
      signal,
      async () => {
        await this.#options.processBatch(shardId, records);
      },
      (error, attempt) => {
        metrics.batchRetries.inc({ region, shard_id: shardId });
        logger.warn({ shardId, err: error, attempt, records: records.length }, 'batch not done; retrying');
      },
    );
    const last = records.at(-1)?.SequenceNumber;
    if (!processed || last === undefined) return;
    this.#lastSequenceNumber = last;
    // A checkpoint that fails to save is retried on its own: the batch is not processed twice.
    const save = this.#options.onBatchDone;
    if (save === undefined) return;
    await this.#retry(
      signal,
      () => save(last),
      (error, attempt) => {
        logger.warn({ shardId, err: error, attempt }, 'checkpoint not saved; retrying');
      },
    );
  }

  /** Runs `action` until it succeeds (true) or `signal` aborts (false), backing off between tries. */
  async #retry(
    signal: AbortSignal,
    action: () => Promise<void>,
    onFailure: (error: unknown, attempt: number) => void,
  ): Promise<boolean> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await action();
        if (attempt > 1) this.#options.onStall?.(false);
        return true;
      } catch (error) {
        onFailure(error, attempt);
        if (attempt === 1) this.#options.onStall?.(true);
        await pause(backoffDelay(attempt, 250, 15_000), signal);
      }
    }
    return false;
  }
}
