import { createHash } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { isTransientAwsError } from '@records/aws-clients';
import { retry } from '@records/retry';
import { StreamBacklogError, StreamUnavailableError } from './errors.js';
import type { ProducerMetrics } from './metrics.js';
import { PutRecordsBatcher, type PutRecordsBatcherOptions } from './put-records-batcher.js';

export interface StreamPosition {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

export interface MultiRegionPusherOptions {
  readonly regions: readonly string[];
  readonly streamName: string;
  readonly kinesis: (region: string) => KinesisClient;
  readonly metrics?: ProducerMetrics;
  readonly logger?: { warn(object: object, message: string): void };
  /**
   * How long a region that fails or stays silent is tried again before the record is answered
   * with STREAM_UNAVAILABLE. No push waits longer than this on any region.
   */
  readonly putTimeoutMs: number;
  /** How records are grouped into PutRecords calls, per region. */
  readonly batching: Pick<PutRecordsBatcherOptions, 'lingerMs' | 'maxRecords' | 'maxBytes' | 'pacing'>;
  /** The clock the waits of pushes in flight are measured on (performance.now by default); tests step it. */
  readonly now?: () => number;
}

/**
 * A hash of the record id: spread over the shards as evenly as a random key would be (ids are
 * UUIDs or otherwise distinct), but the same id always lands on the same shard, so a record
 * posted again after its 201 is written after the earlier version in every region.
 */
export function partitionKey(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Unknown';
}

/**
 * Puts one ciphertext to the stream of every region at once. It succeeds only when every region
 * took the record, so an acknowledged record is durable in every region. A region that fails or
 * stays silent is retried, with back-off, until `putTimeoutMs`; then the push fails naming the
 * regions that took the record and those that did not, and the client retries with the same id.
 */
export class MultiRegionPusher {
  readonly #options: MultiRegionPusherOptions;
  // One batcher per region: a slow region's calls never hold back another region's.
  readonly #batchers = new Map<string, PutRecordsBatcher>();
  // Per region, when each unfinished push began, oldest first (a Map keeps insertion order).
  readonly #pending = new Map<string, Map<object, number>>();

  readonly #now: () => number;

  constructor(options: MultiRegionPusherOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.#options = options;
  }

  #batcher(region: string): PutRecordsBatcher {
    let batcher = this.#batchers.get(region);
    if (batcher === undefined) {
      batcher = new PutRecordsBatcher({
        kinesis: this.#options.kinesis(region),
        streamName: this.#options.streamName,
        ...this.#options.batching,
      });
      this.#batchers.set(region, batcher);
    }
    return batcher;
  }

  #pendingIn(region: string): Map<object, number> {
    let pending = this.#pending.get(region);
    if (pending === undefined) {
      pending = new Map();
      this.#pending.set(region, pending);
    }
    return pending;
  }

  async #track<T>(region: string, token: object, since: number, push: () => Promise<T>): Promise<T> {
    const pending = this.#pendingIn(region);
    pending.set(token, since);
    try {
      return await push();
    } finally {
      pending.delete(token);
    }
  }

  /** Sends what every region has queued, without waiting out the linger time. */
  flush(): void {
    for (const batcher of this.#batchers.values()) batcher.flush();
  }

  async push(id: string, ciphertext: Uint8Array): Promise<Record<string, StreamPosition>> {
    const { regions, metrics, logger, putTimeoutMs } = this.#options;
    // A region that is behind turns the record away now, before any region has it: OVERLOADED at
    // once rather than STREAM_UNAVAILABLE after the budget. Behind means the record's shard has more
    // queued than it takes in a quarter of the budget, or the oldest unfinished push to the region
    // has already waited that long (the stream is slower than what is sent to it, whatever the cause).
    const key = partitionKey(id);
    const now = this.#now();
    const waits = regions.map((region) =>
      Math.max(
        this.#batcher(region).queueWaitMs(key, ciphertext.byteLength),
        now - (this.#pendingIn(region).values().next().value ?? now),
      ),
    );
    const backlogged = regions.filter((_region, index) => (waits[index] ?? 0) > putTimeoutMs / 4);
    if (backlogged.length > 0) {
      for (const region of backlogged) metrics?.kinesisPuts.inc({ region, outcome: 'backlogged' });
      throw new StreamBacklogError(Math.max(...waits));
    }
    // One deadline for every region: each is retried within it, and a silent one is cut off at it.
    const deadline = AbortSignal.timeout(putTimeoutMs);
    const token = {};
    const results = await Promise.allSettled(
      regions.map((region) =>
        // Only this record is tried again when its entry, or its whole call, failed.
        this.#track(region, token, now, () =>
          retry(() => this.#batcher(region).put(ciphertext, key, deadline), {
            attempts: Number.POSITIVE_INFINITY,
            minDelayMs: 100,
            maxDelayMs: 2_000,
            signal: deadline,
            // A refusal that says the request itself is wrong is not tried again.
            shouldRetry: isTransientAwsError,
            onRetry: (error, attempt) =>
              logger?.warn({ id, region, attempt, reason: errorName(error) }, 'put to region stream failed; retrying'),
          }),
        ),
      ),
    );
    const positions: Record<string, StreamPosition> = {};
    const failed: string[] = [];
    results.forEach((result, index) => {
      const region = regions[index] as string;
      metrics?.kinesisPuts.inc({ region, outcome: result.status === 'fulfilled' ? 'success' : 'error' });
      if (result.status === 'fulfilled') positions[region] = result.value;
      else {
        failed.push(region);
        logger?.warn({ id, region, reason: errorName(result.reason) }, 'put to region stream failed');
      }
    });
    if (failed.length > 0) {
      const cause = results.find((result) => result.status === 'rejected')?.reason;
      throw new StreamUnavailableError(id, failed, { cause, acceptedRegions: Object.keys(positions) });
    }
    return positions;
  }
}
