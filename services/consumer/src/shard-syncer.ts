import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { listShards } from '@records/aws-clients';
import type { Logger } from '@records/observability';
import type { Lease, LeaseStore } from './lease-store.js';
import type { ConsumerMetrics } from './metrics.js';

export interface ShardSyncerOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly region: string;
  readonly store: Pick<LeaseStore, 'ensure' | 'remove'>;
  readonly metrics: Pick<ConsumerMetrics, 'trimmedLeasesRemoved' | 'staleStreamLeasesRemoved'>;
  readonly logger: Pick<Logger, 'info' | 'error'>;
  /** SHARD_DISCOVERY_INTERVAL_MS: how often the shards are listed, when nothing asks sooner. */
  readonly intervalMs: number;
  readonly now: () => number;
}

export interface SyncOutcome {
  /** Whether rows were added or removed: the table is read again before leases are taken. */
  readonly changed: boolean;
  /** Shards whose rows were removed: a consumer forgets what it knew of them. */
  readonly removed: readonly string[];
  /** Held shards whose rows belong to an earlier stream: the caller stops reading them (removed next sync). */
  readonly staleHeld: readonly string[];
}

/**
 * Keeps the lease table in step with the stream, as KCL's shard syncer and lease clean-up do: a
 * row for every shard listed (naming its parents), no row of a shard trimmed from the stream, and
 * no row of an earlier stream of the same name (rows carry the stream's ARN and creation time).
 */
export class ShardSyncer {
  readonly #options: ShardSyncerOptions;
  #syncedAt = Number.NEGATIVE_INFINITY;

  constructor(options: ShardSyncerOptions) {
    this.#options = options;
  }

  /** Whether a sync is due: the interval has passed, or `soon()` asked for one. */
  isDue(): boolean {
    return this.#options.now() - this.#syncedAt >= this.#options.intervalMs;
  }

  /** Lists the shards at the next round (a shard read to its end has children; a shard went missing). */
  soon(): void {
    this.#syncedAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * One sync against the rows just read. Rows of held leases are never removed as trimmed (their
   * reader finds out itself); rows of an earlier stream are, held or not: `isHeld` rows are first
   * given up by the caller, and removed at the next sync.
   */
  async sync(rows: readonly Lease[], isHeld: (shardId: string) => boolean): Promise<SyncOutcome> {
    const { kinesis, streamName, store } = this.#options;
    const identity = await this.#identity();
    const shards = await listShards(kinesis, streamName);
    const removed: string[] = [];
    const staleHeld: string[] = [];
    const current: Lease[] = [];
    for (const row of rows) {
      if (row.streamIdentity === undefined || row.streamIdentity === identity) current.push(row);
      else if (isHeld(row.shardId)) staleHeld.push(row.shardId);
      else if (await store.remove(row)) {
        removed.push(row.shardId);
        this.#options.metrics.staleStreamLeasesRemoved.inc({ region: this.#options.region });
        this.#options.logger.info(
          { shardId: row.shardId, streamIdentity: row.streamIdentity, now: identity },
          'lease of an earlier stream of the same name removed',
        );
      }
    }
    const known = new Map(current.map((row) => [row.shardId, row]));
    let added = false;
    for (const shard of shards) {
      if (shard.ShardId === undefined) continue;
      const row = known.get(shard.ShardId);
      // A row from before identities is adopted by the stream listed now: it is given the identity.
      if (row !== undefined && row.streamIdentity !== undefined) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined);
      await store.ensure(shard.ShardId, parents, identity);
      added ||= row === undefined;
    }
    removed.push(...(await this.#removeTrimmed(current, shards.length === 0 ? undefined : shards, isHeld)));
    // Stale rows still held are removed at the next sync, once given up: that one comes at once.
    this.#syncedAt = staleHeld.length > 0 ? Number.NEGATIVE_INFINITY : this.#options.now();
    return { changed: added || removed.length > 0, removed, staleHeld };
  }

  /**
   * Rows of shards trimmed from the stream (past its retention) are deleted, as KCL's lease clean-up
   * does: on-demand streams reshard as traffic changes, every round reads the whole table, and a
   * missing parent row counts as read to its end (so a trimmed parent never holds its children back).
   * A shard trimmed before it was read to its end has lost records: said loudly.
   */
  async #removeTrimmed(
    rows: readonly Lease[],
    shards: readonly { ShardId?: string }[] | undefined,
    isHeld: (shardId: string) => boolean,
  ): Promise<string[]> {
    if (shards === undefined) return [];
    const { store, metrics, region, logger } = this.#options;
    const listed = new Set(shards.map((shard) => shard.ShardId));
    const removed: string[] = [];
    for (const row of rows) {
      if (listed.has(row.shardId) || isHeld(row.shardId)) continue;
      if (!(await store.remove(row))) continue;
      removed.push(row.shardId);
      const readToEnd = row.checkpoint.kind === 'shard-end';
      metrics.trimmedLeasesRemoved.inc({ region, read_to_end: String(readToEnd) });
      if (readToEnd) logger.info({ shardId: row.shardId }, 'lease of a trimmed shard removed');
      else
        logger.error(
          { shardId: row.shardId, checkpoint: row.checkpoint },
          'shard trimmed from the stream before it was read to its end: its unread records are lost; lease removed',
        );
    }
    return removed;
  }

  /** The stream's ARN and creation time: a stream created again under the same name has another. */
  async #identity(): Promise<string> {
    const { StreamDescriptionSummary: summary } = await this.#options.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: this.#options.streamName }),
    );
    const created = summary?.StreamCreationTimestamp;
    if (summary?.StreamARN === undefined || created === undefined) {
      throw new Error('DescribeStreamSummary returned no ARN or creation time');
    }
    return `${summary.StreamARN}@${created.toISOString()}`;
  }
}
