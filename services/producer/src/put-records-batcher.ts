import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { StreamPosition } from './multi-region-pusher.js';

export interface PutRecordsBatcherOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** How long the first record of a batch waits for others to join it. */
  readonly lingerMs: number;
  /** Kinesis takes at most 500 records in one PutRecords call. */
  readonly maxRecords: number;
  /** …and at most 5 MiB of data and partition keys. */
  readonly maxBytes: number;
}

/** One entry of a PutRecords call that Kinesis did not take (its ErrorCode, e.g. ProvisionedThroughputExceededException). */
export class PutRecordsEntryError extends Error {
  readonly $fault: 'server';

  constructor(code: string, message: string | undefined) {
    super(message ?? code);
    this.name = code;
    // Kinesis fails an entry only for throughput, an internal failure or KMS: never the entry's own fault.
    this.$fault = 'server';
  }
}

interface Waiting {
  readonly entry: PutRecordsRequestEntry;
  readonly bytes: number;
  settled: boolean;
  resolve(position: StreamPosition): void;
  reject(error: unknown): void;
}

/**
 * Puts records to one region's stream in PutRecords calls of up to `maxRecords` records and
 * `maxBytes` bytes, as the Kinesis Producer Library aggregates them: a record waits at most
 * `lingerMs` for others, and a full batch goes at once. Each `put` is one attempt for one record:
 * it resolves with the record's position or rejects with its own error (an entry Kinesis did not
 * take, or the whole call failing), so the caller retries exactly the records that failed.
 */
export class PutRecordsBatcher {
  readonly #options: PutRecordsBatcherOptions;
  #queue: Waiting[] = [];
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: PutRecordsBatcherOptions) {
    this.#options = options;
  }

  /** Queues one record for the next call; `signal` gives up on it (the call may still carry it). */
  put(data: Uint8Array, partitionKey: string, signal?: AbortSignal): Promise<StreamPosition> {
    return new Promise<StreamPosition>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiting: Waiting = {
        entry: { Data: data, PartitionKey: partitionKey },
        bytes: data.byteLength + Buffer.byteLength(partitionKey),
        settled: false,
        resolve: (position) => {
          if (waiting.settled) return;
          waiting.settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(position);
        },
        reject: (error) => {
          if (waiting.settled) return;
          waiting.settled = true;
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        const index = this.#queue.indexOf(waiting);
        if (index >= 0) {
          this.#queue.splice(index, 1);
          this.#queuedBytes -= waiting.bytes;
        }
        waiting.reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.#queuedBytes + waiting.bytes > this.#options.maxBytes) this.#flush();
      this.#queue.push(waiting);
      this.#queuedBytes += waiting.bytes;
      if (this.#queue.length >= this.#options.maxRecords || this.#queuedBytes >= this.#options.maxBytes) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#options.lingerMs);
    });
  }

  /** Sends what is queued now, without waiting out the linger time. */
  flush(): void {
    this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    void this.#send(batch);
  }

  async #send(batch: Waiting[]): Promise<void> {
    try {
      const { Records = [] } = await this.#options.kinesis.send(
        new PutRecordsCommand({ StreamName: this.#options.streamName, Records: batch.map((waiting) => waiting.entry) }),
      );
      batch.forEach((waiting, index) => {
        const result = Records[index];
        if (result?.ShardId !== undefined && result.SequenceNumber !== undefined && result.ErrorCode === undefined) {
          waiting.resolve({ shardId: result.ShardId, sequenceNumber: result.SequenceNumber });
        } else {
          waiting.reject(new PutRecordsEntryError(result?.ErrorCode ?? 'MissingResult', result?.ErrorMessage));
        }
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
