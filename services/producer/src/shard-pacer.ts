import { createHash } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { listShards } from '@records/aws-clients';

export interface ShardPacing {
  /** Records a shard takes per second: Kinesis's limit is 1,000. */
  readonly recordsPerSecond: number;
  /** Bytes (data and partition key) a shard takes per second: Kinesis's limit is 1 MiB. */
  readonly bytesPerSecond: number;
}

export interface ShardPacerOptions extends ShardPacing {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** The shard map is listed again after this long, and at once when a put lands on a shard it does not know. */
  readonly refreshMs?: number;
  readonly now?: () => number;
}

/** One open shard: its hash key range, the room it has now, and what waits for it. */
export interface PacedShard {
  readonly shardId: string;
  start: bigint;
  end: bigint;
  records: number;
  bytes: number;
  at: number;
  /** Records (and their bytes) queued for this shard and not yet sent. */
  backlogRecords: number;
  backlogBytes: number;
}

/** Where Kinesis puts a partition key: the MD5 of its UTF-8 bytes as a 128-bit integer. */
export function hashKey(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/**
 * Keeps each open shard of one stream under its write limits, as the KPL's per-shard rate limit
 * does: a token bucket per shard for records and one for bytes, each holding one second's worth.
 * The batcher asks `take` for each record it would send; a record whose shard has no room waits
 * in the queue (bounded by the caller's deadline), while records for other shards go on.
 *
 * A token bucket is a dozen lines; the libraries on npm (limiter, bottleneck) wait on promises per
 * call, where the batcher needs a synchronous yes or no for many records at once.
 */
export class ShardPacer {
  readonly #options: ShardPacerOptions;
  readonly #now: () => number;
  #shards: PacedShard[] = [];
  #listedAt = Number.NEGATIVE_INFINITY;
  #listing: Promise<void> | undefined;

  constructor(options: ShardPacerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Takes room on the record's shard for one record of `bytes`, or says it has none now. Until the
   * shard map is known, records are not held (the stream's own throttling still answers).
   */
  take(shard: PacedShard | undefined, bytes: number): boolean {
    if (shard === undefined) return true;
    this.#refill(shard);
    if (shard.records < 1 || shard.bytes < bytes) return false;
    shard.records -= 1;
    shard.bytes -= bytes;
    return true;
  }

  /**
   * Lists the shard map now if it is not known or stale, without waiting for it: a producer starts
   * it at once, so the first burst is paced rather than sent before the map is known.
   */
  refresh(): void {
    this.#refreshWhenStale();
  }

  /** The open shard a hash key lands on, when the shard map is known. */
  shardOf(hash: bigint): PacedShard | undefined {
    this.#refreshWhenStale();
    return this.#shards.find((candidate) => hash >= candidate.start && hash <= candidate.end);
  }

  /**
   * How long a record of `bytes` put now would wait for its shard, behind the backlog already
   * queued there: what admission control turns away when it is longer than a put may take.
   */
  waitMs(shard: PacedShard | undefined, bytes: number): number {
    if (shard === undefined) return 0;
    this.#refill(shard);
    const { recordsPerSecond, bytesPerSecond } = this.#options;
    const records = (shard.backlogRecords + 1 - shard.records) / recordsPerSecond;
    const size = (shard.backlogBytes + bytes - shard.bytes) / bytesPerSecond;
    return Math.max(0, records, size) * 1000;
  }

  /** A put landed on `shardId`: a shard the map does not hold means the stream was resharded. */
  observe(shardId: string): void {
    if (this.#listedAt > Number.NEGATIVE_INFINITY && !this.#shards.some((shard) => shard.shardId === shardId)) {
      this.#listedAt = Number.NEGATIVE_INFINITY;
    }
  }

  #refill(shard: PacedShard): void {
    const now = this.#now();
    const seconds = Math.max(0, now - shard.at) / 1000;
    shard.at = now;
    shard.records = Math.min(this.#options.recordsPerSecond, shard.records + seconds * this.#options.recordsPerSecond);
    shard.bytes = Math.min(this.#options.bytesPerSecond, shard.bytes + seconds * this.#options.bytesPerSecond);
  }

  #refreshWhenStale(): void {
    if (this.#listing !== undefined || this.#now() - this.#listedAt < (this.#options.refreshMs ?? 60_000)) return;
    this.#listing = this.#list()
      .catch(() => {
        // The map stays as it was; the next record asks again after a short pause.
        this.#listedAt = this.#now() - (this.#options.refreshMs ?? 60_000) + 1_000;
      })
      .finally(() => {
        this.#listing = undefined;
      });
  }

  async #list(): Promise<void> {
    const found = await listShards(this.#options.kinesis, this.#options.streamName);
    const now = this.#now();
    const previous = new Map(this.#shards.map((shard) => [shard.shardId, shard]));
    this.#shards = found
      .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)
      .map((listed) => {
        const start = BigInt(listed.HashKeyRange?.StartingHashKey ?? '0');
        const end = BigInt(listed.HashKeyRange?.EndingHashKey ?? '0');
        // A shard already paced keeps its room and its backlog; a new one starts with a full second.
        const known = previous.get(listed.ShardId ?? '');
        if (known !== undefined) return Object.assign(known, { start, end });
        const { recordsPerSecond: records, bytesPerSecond: bytes } = this.#options;
        return {
          shardId: listed.ShardId ?? '',
          start,
          end,
          records,
          bytes,
          at: now,
          backlogRecords: 0,
          backlogBytes: 0,
        };
      });
    this.#listedAt = now;
  }
}
