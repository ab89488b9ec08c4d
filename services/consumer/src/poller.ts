import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from '@records/observability';
import { pause, retry } from '@records/retry';
import { LeaseLostError } from './errors.js';
import { type HeldLease, HeldLeases } from './held-leases.js';
import { LeaseRenewer } from './lease-renewer.js';
import type { Lease, LeaseStore } from './lease-store.js';
import { LeaseTaker } from './lease-taker.js';
import type { ConsumerMetrics } from './metrics.js';
import type { RecordProcessor } from './record-processor.js';
import { ShardReader } from './shard-reader.js';
import { ShardSyncer } from './shard-syncer.js';

export interface PollerDeps {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly region: string;
  readonly processBatch: RecordProcessor;
  readonly leases: Pick<
    LeaseStore,
    'list' | 'ensure' | 'remove' | 'take' | 'requestHandoff' | 'handOver' | 'renew' | 'checkpoint' | 'release'
  >;
  /** This consumer's name in the lease table; unique among the region's consumers. */
  readonly workerId: string;
  /** A lease not renewed for this long is taken by another consumer (LEASE_DURATION_MS). */
  readonly leaseDurationMs: number;
  readonly metrics: ConsumerMetrics;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly getRecordsLimit: number;
  readonly idlePollMs: number;
  readonly shardDiscoveryIntervalMs: number;
  /**
   * A batch not done within this long counts as stalled (in `/readyz` and the stalled metric) and
   * is logged, even while no attempt has failed yet: a silent dependency shows within one bound.
   */
  readonly batchBoundMs: number;
  /** The clock every part reads (performance.now by default); tests step it. */
  readonly now?: () => number;
}

export interface Poller {
  start(): void;
  /**
   * Stops reading; each shard's batch in hand is finished and checkpointed and its lease released,
   * so another consumer takes it at once and reads nothing twice. After `graceMs`, a batch still
   * unfinished is given up (it is read again by the next owner).
   */
  stop(graceMs?: number): Promise<void>;
  /** True once the lease table has been read and leases taken. */
  isReady(): boolean;
  /** Shards whose current batch keeps failing (KMS or DynamoDB unavailable), waiting to retry it. */
  stalledShards(): string[];
  /** Shards this consumer holds the lease of, and reads. */
  heldShards(): string[];
  /** Readable shards that no live consumer read at the last round (free, expired, or left by an earlier run). */
  unownedShards(): readonly string[];
}

/**
 * Shares a region stream's shards among the region's consumers through leases in DynamoDB, as KCL
 * does, and runs one ShardReader per lease held. The parts, each with one job: HeldLeases (the
 * leases held and every write to them), LeaseRenewer (renews on its own timer, gives up a lease
 * before another consumer can take it), ShardSyncer (rows for the stream's shards, none for trimmed
 * shards or an earlier stream of the same name), LeaseTaker (takes, hands over, balances). This
 * scheduler runs a round every `leaseDurationMs / 5` (sooner when a watched lease expires sooner):
 * read the table, sync when due, let the taker decide. A child shard is read only after its parents
 * are read to their end, by whichever consumer.
 */
export function createPoller(deps: PollerDeps): Poller {
  const { leases: store, metrics, region, logger, workerId: me } = deps;
  const now = deps.now ?? (() => performance.now());
  const roundMs = Math.max(100, Math.floor(deps.leaseDurationMs / 5));
  // Well under a third of the lease: a renewal that fails is tried again in time.
  const writeTimeoutMs = Math.max(50, Math.floor(deps.leaseDurationMs / 4));
  const stopping = new AbortController();
  const stalled = new Set<string>();
  let ready = false;
  let loop: Promise<void> | undefined;
  let wake = new AbortController();

  const setStalled = (shardId: string, isStalled: boolean) => {
    if (isStalled) stalled.add(shardId);
    else stalled.delete(shardId);
    metrics.stalledShards.set({ region }, stalled.size);
  };
  const held = new HeldLeases({
    now,
    writeTimeoutMs,
    logger,
    onCount: (count) => metrics.leasesHeld.set({ region }, count),
    onLost: (shardId) => setStalled(shardId, false),
  });
  const renewer = new LeaseRenewer({
    held,
    store,
    leaseDurationMs: deps.leaseDurationMs,
    intervalMs: roundMs,
    now,
    logger,
    onGiveUp: () => metrics.renewalsGivenUp.inc({ region }),
  });
  const syncer = new ShardSyncer({
    kinesis: deps.kinesis,
    streamName: deps.streamName,
    region,
    store,
    metrics,
    logger,
    intervalMs: deps.shardDiscoveryIntervalMs,
    now,
  });
  const taker = new LeaseTaker({
    me,
    region,
    store,
    held,
    leaseDurationMs: deps.leaseDurationMs,
    roundMs,
    writeTimeoutMs,
    now,
    metrics,
    logger,
    startReading,
  });

  /** Runs the shard's reader; when it ends, the lease is checkpointed and let go (or handed over). */
  function startReading(lease: Lease, takenAt: number) {
    const entry = held.add(lease, takenAt);
    const { shardId, checkpoint } = lease;
    const reader = new ShardReader({
      ...deps,
      shardId,
      ...(checkpoint.kind === 'after' ? { startAfterSequenceNumber: checkpoint.sequenceNumber } : {}),
      onBatchDone: (sequenceNumber) =>
        held.write(entry, (current, options) => store.checkpoint(current, { kind: 'after', sequenceNumber }, options)),
      onStall: (isStalled) => setStalled(shardId, isStalled),
      stallAfterMs: deps.batchBoundMs,
    });
    entry.run = finishReading(entry, reader)
      .catch((error: unknown) => {
        if (!(error instanceof LeaseLostError)) logger.warn({ shardId, err: error }, 'shard reader failed');
        held.lose(entry, 'reader failed');
      })
      .finally(() => setStalled(shardId, false));
  }

  async function finishReading(entry: HeldLease, reader: ShardReader) {
    const { shardId } = entry.lease;
    const outcome = await reader.run(entry.read.signal, entry.finish.signal);
    if (outcome === 'closed') {
      await held.write(entry, (current, options) => store.checkpoint(current, { kind: 'shard-end' }, options));
    }
    // Its children can be read now, or the stream may have been created again: look at once.
    if (outcome !== 'stopped') {
      syncer.soon();
      wake.abort();
    }
    // Read to its end, gone from the stream, stopping or asked for: let it go, so another consumer
    // takes it at once from the checkpoint just written.
    if (!held.holds(entry)) return;
    const to = entry.handOverTo;
    await held.write(entry, (current, options) =>
      to === undefined || outcome === 'closed' ? store.release(current, options) : store.handOver(current, to, options),
    );
    if (to !== undefined) logger.info({ shardId, to }, 'lease handed over');
    held.letGo(entry);
  }

  async function round() {
    let rows = await store.list();
    if (syncer.isDue()) {
      const outcome = await syncer.sync(rows, (shardId) => held.has(shardId));
      for (const shardId of outcome.staleHeld) {
        const entry = held.get(shardId);
        if (entry !== undefined) held.lose(entry, 'the stream was created again under its name');
      }
      taker.forget(outcome.removed);
      if (outcome.changed) rows = await store.list();
    }
    const nextMs = await taker.round(rows, stopping.signal.aborted);
    if (!ready && !stopping.signal.aborted) {
      logger.info({ leases: held.size, shards: rows.length, worker: me }, 'reading shards');
      ready = true;
    }
    return nextMs;
  }

  async function run() {
    renewer.start();
    while (!stopping.signal.aborted) {
      wake = new AbortController();
      let nextMs: number;
      try {
        nextMs = await retry(round, {
          attempts: Number.POSITIVE_INFINITY,
          minDelayMs: 200,
          maxDelayMs: roundMs,
          signal: stopping.signal,
          onRetry: (error, failures) => logger.warn({ err: error, failures }, 'lease round failed; backing off'),
        });
      } catch {
        return;
      }
      await pause(nextMs, AbortSignal.any([stopping.signal, wake.signal]));
    }
  }

  return {
    start() {
      loop ??= run();
    },
    async stop(graceMs = deps.leaseDurationMs) {
      ready = false;
      stopping.abort();
      await loop;
      const entries = held.entries().map(([, entry]) => entry);
      for (const entry of entries) entry.read.abort();
      const giveUp = setTimeout(() => {
        for (const entry of entries) entry.finish.abort();
      }, graceMs);
      await Promise.allSettled(entries.map((entry) => entry.run));
      clearTimeout(giveUp);
      renewer.stop();
    },
    isReady: () => ready,
    stalledShards: () => [...stalled],
    heldShards: () => held.shardIds(),
    unownedShards: () => taker.unowned(),
  };
}
