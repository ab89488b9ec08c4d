import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import type { Logger } from '@records/observability';
import { pause, retry } from '@records/retry';
import type { ConsumerMetrics } from './metrics.js';
import type { RecordProcessor } from './record-processor.js';

export interface ShardReaderOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly region: string;
  readonly shardId: string;
  readonly processBatch: RecordProcessor;
  readonly metrics: ConsumerMetrics;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  readonly getRecordsLimit: number;
  readonly idlePollMs: number;
  /** Where reading starts; each shard starts at its oldest record when unset. */
  readonly startAfterSequenceNumber?: string;
  /** Called after a batch is fully written or dead-lettered, with its last sequence number. */
  readonly onBatchDone?: (sequenceNumber: string) => Promise<void>;
  /** Told when the shard stalls on a batch that keeps failing (true), and when it moves again (false). */
  readonly onStall?: (stalled: boolean) => void;
  /**
   * A batch not done within this long is stalled too, though no attempt has failed yet (a silent
   * dependency holds its request): logged, and told to `onStall`.
   */
  readonly stallAfterMs?: number;
}

// Kinesis allows five GetRecords calls a second per shard.
const MIN_POLL_SPACING_MS = 200;
// Reading is retried until it works or the reader stops; so is a batch, which never moves on unfinished.
const READ_RETRY = { attempts: Number.POSITIVE_INFINITY, minDelayMs: 200, maxDelayMs: 10_000 } as const;
const BATCH_RETRY = { attempts: Number.POSITIVE_INFINITY, minDelayMs: 250, maxDelayMs: 15_000 } as const;

function isNamed(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/**
 * Reads one shard with GetShardIterator and GetRecords until the shard is closed and drained, or
 * until stopped. A batch is retried until it is done, so the reader never moves past a record
 * that was neither written nor dead-lettered.
 */
export class ShardReader {
  readonly #options: ShardReaderOptions;
  #lastSequenceNumber: string | undefined;
  // How far behind the shard's tip the last read was, and since when the reader has been stuck
  // (a batch not finished, or reads failing): the lag grows while nothing moves.
  #behindMs = 0;
  #stuckSince: number | undefined;

  constructor(options: ShardReaderOptions) {
    this.#options = options;
    this.#lastSequenceNumber = options.startAfterSequenceNumber;
  }

  /**
   * Resolves `closed` when the shard has been read to its end, `stopped` when `signal` aborted,
   * `missing` when Kinesis no longer knows the shard. `signal` stops reading: a batch in hand is
   * still finished and checkpointed, unless `finishSignal` aborts too (the lease was lost, or the
   * grace time ran out).
   */
  async run(signal: AbortSignal, finishSignal: AbortSignal = signal): Promise<'closed' | 'stopped' | 'missing'> {
    const { shardId, metrics } = this.#options;
    metrics.shardLag.set(
      shardId,
      () => this.#behindMs + (this.#stuckSince === undefined ? 0 : Date.now() - this.#stuckSince),
    );
    try {
      return await this.#read(signal, finishSignal);
    } finally {
      metrics.shardLag.delete(shardId);
    }
  }

  async #read(signal: AbortSignal, finishSignal: AbortSignal): Promise<'closed' | 'stopped' | 'missing'> {
    const { kinesis, shardId, metrics, region, logger } = this.#options;
    let iterator: string | undefined;
    while (!signal.aborted) {
      let output: GetRecordsCommandOutput;
      try {
        output = await retry(
          async () => {
            iterator ??= await this.#iterator();
            // Stopping aborts a read in flight: it is retried here, so the SDK makes one attempt.
            return kinesis.send(
              new GetRecordsCommand({ ShardIterator: iterator, Limit: this.#options.getRecordsLimit }),
              { abortSignal: signal },
            );
          },
          {
            ...READ_RETRY,
            signal,
            // A shard Kinesis no longer knows is looked for again at the next discovery, not here.
            shouldRetry: (error) => !isNamed(error, 'ResourceNotFoundException'),
            onRetry: (error, attempt) => {
              this.#stuckSince ??= Date.now();
              // An expired iterator is asked for again; anything else is backed off and logged.
              if (isNamed(error, 'ExpiredIteratorException')) iterator = undefined;
              else logger.warn({ shardId, err: error, failures: attempt }, 'GetRecords failed; backing off');
            },
          },
        );
      } catch {
        if (signal.aborted) return 'stopped';
        // The stream or shard is gone, perhaps for a moment: not drained, so not checkpointed as ended.
        logger.warn({ shardId }, 'shard not found; it is looked for again at the next discovery');
        return 'missing';
      }
      const records = output.Records ?? [];
      // Counted here, once per record read, however often its batch is retried.
      if (records.length > 0) metrics.read.inc({ region }, records.length);
      this.#behindMs = output.MillisBehindLatest ?? 0;
      this.#stuckSince = records.length > 0 ? Date.now() : undefined;
      if (records.length > 0) {
        await this.#processUntilDone(records, finishSignal);
        this.#stuckSince = undefined;
        if (signal.aborted || finishSignal.aborted) return 'stopped';
      }
      if (output.NextShardIterator === undefined || output.NextShardIterator === null) {
        logger.info({ shardId }, 'shard closed and fully read');
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
    const { stallAfterMs, onStall } = this.#options;
    let overdue = false;
    const overdueTimer =
      stallAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            overdue = true;
            logger.warn(
              { shardId, records: records.length, waitedMs: stallAfterMs },
              'batch not done within its bound; still waiting on KMS or DynamoDB',
            );
            onStall?.(true);
          }, stallAfterMs);
    // Stopping mid-retry is safe: nothing past the last finished batch counts as read.
    let processed: boolean;
    try {
      processed = await this.#retry(
        signal,
        async () => {
          await this.#options.processBatch(shardId, records);
        },
        (error, attempt) => {
          metrics.batchRetries.inc({ region, shard_id: shardId });
          logger.warn({ shardId, err: error, attempt, records: records.length }, 'batch not done; retrying');
        },
      );
    } finally {
      clearTimeout(overdueTimer);
      if (overdue) onStall?.(false);
    }
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
    let stalled = false;
    try {
      await retry(action, {
        ...BATCH_RETRY,
        signal,
        onRetry: (error, attempt) => {
          onFailure(error, attempt);
          if (!stalled) this.#options.onStall?.(true);
          stalled = true;
        },
      });
      if (stalled) this.#options.onStall?.(false);
      return true;
    } catch {
      // Tried until stopped: nothing else ends an endless retry.
      return false;
    }
  }
}
