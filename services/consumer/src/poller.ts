import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { pause, retry } from '@records/retry';
import { LeaseLostError } from './errors.js';
import { leasesToTake, type Sighting } from './lease-balance.js';
import type { Lease, LeaseStore } from './lease-store.js';
import type { ConsumerMetrics } from './metrics.js';
import type { RecordProcessor } from './record-processor.js';
import { ShardReader } from './shard-reader.js';

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
  readonly logger: {
    info(object: object, message: string): void;
    warn(object: object, message: string): void;
    error(object: object, message: string): void;
  };
  readonly getRecordsLimit: number;
  readonly idlePollMs: number;
  readonly shardDiscoveryIntervalMs: number;
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
}

interface Held {
  lease: Lease;
  /** Stops reading (a stop); the batch in hand is still finished. */
  readonly read: AbortController;
  /** Gives up the batch in hand too (the lease was lost, or the grace time ran out). */
  readonly finish: AbortController;
  /** The lease's writes, one at a time: each is conditional on the counter the previous one left. */
  writes: Promise<unknown>;
  /** The consumer that asked for the lease: it gets it once the batch in hand is checkpointed. */
  handOverTo?: string;
  run?: Promise<void>;
}

async function listShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(
      new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }),
    );
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

/**
 * Shares a region stream's shards among the region's consumers through leases in DynamoDB, as KCL
 * does, and runs one ShardReader per lease held. Every `leaseDurationMs / 5` it renews its leases,
 * reads the lease table, and takes its share (free leases, then expired ones, then one stolen from
 * the busiest consumer). Shards found by discovery get a lease row naming their parents; a child
 * is read only after its parents are read to their end, by whichever consumer.
 */
export function createPoller(deps: PollerDeps): Poller {
  const { leases: store, metrics, region, logger, workerId: me } = deps;
  const stopping = new AbortController();
  const held = new Map<string, Held>();
  const sightings = new Map<string, Sighting>();
  // Leases this consumer asked another for, and when (by its own clock).
  const asked = new Map<string, number>();
  const stalled = new Set<string>();
  const tickMs = Math.max(100, Math.floor(deps.leaseDurationMs / 5));
  let ready = false;
  let loop: Promise<void> | undefined;
  let discoveredAt = Number.NEGATIVE_INFINITY;
  let wake = new AbortController();
  // When the next round is due: a round's time, or sooner when another consumer's lease expires sooner.
  let nextRoundMs = tickMs;

  const setStalled = (shardId: string, isStalled: boolean) => {
    if (isStalled) stalled.add(shardId);
    else stalled.delete(shardId);
    metrics.stalledShards.set({ region }, stalled.size);
  };
  const count = () => metrics.leasesHeld.set({ region }, held.size);

  function lose(shardId: string, entry: Held, why: string) {
    if (held.get(shardId) !== entry) return;
    held.delete(shardId);
    entry.read.abort();
    entry.finish.abort();
    setStalled(shardId, false);
    count();
    logger.info({ shardId, why }, 'lease lost; stopped reading the shard');
  }

  /** One write to a held lease, after the ones before it; losing the lease stops the reader. */
  function write(shardId: string, entry: Held, change: (lease: Lease) => Promise<Lease>): Promise<void> {
    const next = entry.writes.then(async () => {
      if (held.get(shardId) !== entry) throw new LeaseLostError(shardId);
      entry.lease = await change(entry.lease);
    });
    entry.writes = next.catch(() => {});
    return next.catch((error: unknown) => {
      if (error instanceof LeaseLostError) lose(shardId, entry, 'another consumer holds it');
      throw error;
    });
  }

  function startReading(lease: Lease) {
    const { shardId, checkpoint } = lease;
    const entry: Held = {
      lease,
      read: new AbortController(),
      finish: new AbortController(),
      writes: Promise.resolve(),
    };
    held.set(shardId, entry);
    count();
    const reader = new ShardReader({
      ...deps,
      shardId,
      ...(checkpoint.kind === 'after' ? { startAfterSequenceNumber: checkpoint.sequenceNumber } : {}),
      onBatchDone: (sequenceNumber) =>
        write(shardId, entry, (current) => store.checkpoint(current, { kind: 'after', sequenceNumber })),
      onStall: (isStalled) => setStalled(shardId, isStalled),
    });
    entry.run = (async () => {
      const outcome = await reader.run(entry.read.signal, entry.finish.signal);
      if (outcome === 'closed') {
        await write(shardId, entry, (current) => store.checkpoint(current, { kind: 'shard-end' }));
        // Its children can be read now: look for them at once.
        discoveredAt = Number.NEGATIVE_INFINITY;
        wake.abort();
      }
      // Read to its end, gone from the stream, stopping or asked for: let it go, so another consumer
      // takes it at once from the checkpoint just written.
      if (held.get(shardId) === entry) {
        const to = entry.handOverTo;
        await write(shardId, entry, (current) =>
          to === undefined || outcome === 'closed' ? store.release(current) : store.handOver(current, to),
        );
        if (to !== undefined) logger.info({ shardId, to }, 'lease handed over');
        held.delete(shardId);
        count();
      }
    })()
      .catch((error: unknown) => {
        if (!(error instanceof LeaseLostError)) logger.warn({ shardId, err: error }, 'shard reader failed');
        lose(shardId, entry, 'reader failed');
      })
      .finally(() => setStalled(shardId, false));
  }

  async function takeLease(lease: Lease, from: 'free' | 'expired' | 'stolen') {
    try {
      const taken = await store.take(lease, me);
      metrics.leaseTakeovers.inc({ region, from });
      logger.info({ shardId: lease.shardId, from, previousOwner: lease.owner }, 'lease taken');
      startReading(taken);
    } catch (error) {
      // Another consumer was quicker; the next round sees who.
      if (!(error instanceof LeaseLostError)) throw error;
    }
  }

  async function discover(rows: readonly Lease[]) {
    const shards = await listShards(deps.kinesis, deps.streamName);
    const known = new Set(rows.map((row) => row.shardId));
    for (const shard of shards) {
      if (shard.ShardId === undefined || known.has(shard.ShardId)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined);
      await store.ensure(shard.ShardId, parents);
    }
    // Rows of shards trimmed from the stream (past its retention) are deleted, as KCL's lease
    // clean-up does: on-demand streams reshard as traffic changes, every round reads the whole
    // table, and a missing parent row counts as read to its end (so a trimmed parent never holds
    // its children back). A shard trimmed before it was read to its end has lost records: said loudly.
    const listed = new Set(shards.map((shard) => shard.ShardId));
    let removed = false;
    for (const row of rows) {
      if (shards.length === 0 || listed.has(row.shardId) || held.has(row.shardId)) continue;
      if (!(await store.remove(row))) continue;
      sightings.delete(row.shardId);
      removed = true;
      metrics.trimmedLeasesRemoved.inc({ region, read_to_end: String(row.checkpoint.kind === 'shard-end') });
      if (row.checkpoint.kind === 'shard-end')
        logger.info({ shardId: row.shardId }, 'lease of a trimmed shard removed');
      else
        logger.error(
          { shardId: row.shardId, checkpoint: row.checkpoint },
          'shard trimmed from the stream before it was read to its end: its unread records are lost; lease removed',
        );
    }
    discoveredAt = performance.now();
    return removed || shards.some((shard) => shard.ShardId !== undefined && !known.has(shard.ShardId));
  }

  async function tick() {
    // Renew first: a lease held here is never left to expire while the table is read.
    await Promise.all(
      [...held].map(([shardId, entry]) =>
        write(shardId, entry, (current) => store.renew(current)).catch((error: unknown) => {
          if (!(error instanceof LeaseLostError)) logger.warn({ shardId, err: error }, 'lease not renewed; retrying');
        }),
      ),
    );
    let rows = await store.list();
    if (performance.now() - discoveredAt >= deps.shardDiscoveryIntervalMs && (await discover(rows))) {
      rows = await store.list();
    }
    const now = performance.now();
    const handedOver: Lease[] = [];
    for (const row of rows) {
      const seen = sightings.get(row.shardId);
      if (seen === undefined || seen.counter !== row.counter)
        sightings.set(row.shardId, { counter: row.counter, since: now });
      const entry = held.get(row.shardId);
      if (entry !== undefined && row.owner !== me) lose(row.shardId, entry, `taken by ${row.owner ?? 'nobody'}`);
      else if (entry !== undefined && row.nextOwner !== undefined && entry.handOverTo === undefined) {
        // Asked for: stop reading; the batch in hand is finished and checkpointed, then handed over.
        entry.handOverTo = row.nextOwner;
        entry.read.abort();
        logger.info({ shardId: row.shardId, to: row.nextOwner }, 'lease asked for; handing it over');
      }
      const askedAt = asked.get(row.shardId);
      if (askedAt === undefined || entry !== undefined) continue;
      if (row.owner === me && row.checkpoint.kind !== 'shard-end') handedOver.push(row);
      // Not handed over within a lease duration (its batch keeps failing): taken as KCL 2 takes.
      else if (row.nextOwner === me && now - askedAt > deps.leaseDurationMs) handedOver.push(row);
      else if (row.nextOwner !== me) asked.delete(row.shardId);
    }
    for (const lease of handedOver) {
      asked.delete(lease.shardId);
      // Handed over as this consumer stops: let it go again rather than leave it to expire.
      if (stopping.signal.aborted && lease.owner === me) await store.release(lease).catch(() => {});
      else if (!stopping.signal.aborted) await takeLease(lease, 'stolen');
    }
    if (stopping.signal.aborted) return;
    // A lease that expires before the next round is taken the moment it does, not up to a round later.
    nextRoundMs = tickMs;
    for (const row of rows) {
      const seen = sightings.get(row.shardId);
      if (row.owner === undefined || row.owner === me || seen === undefined) continue;
      const expiresInMs = seen.since + deps.leaseDurationMs - now;
      if (expiresInMs >= 0) nextRoundMs = Math.min(nextRoundMs, Math.ceil(expiresInMs) + 1);
    }
    const claimed = [...held].filter(([, entry]) => entry.handOverTo === undefined).map(([shardId]) => shardId);
    const takes = leasesToTake({
      me,
      leases: rows,
      held: new Set([...claimed, ...asked.keys()]),
      sightings,
      now,
      leaseDurationMs: deps.leaseDurationMs,
    });
    for (const { lease, from } of takes) {
      if (from !== 'stolen') {
        await takeLease(lease, from);
        continue;
      }
      try {
        await store.requestHandoff(lease, me);
        asked.set(lease.shardId, now);
        logger.info({ shardId: lease.shardId, owner: lease.owner }, 'lease asked for, to balance the fleet');
      } catch (error) {
        if (!(error instanceof LeaseLostError)) throw error;
      }
    }
    if (!ready) logger.info({ leases: held.size, shards: rows.length, worker: me }, 'reading shards');
    ready = true;
  }

  async function run() {
    while (!stopping.signal.aborted) {
      wake = new AbortController();
      try {
        await retry(tick, {
          attempts: Number.POSITIVE_INFINITY,
          minDelayMs: 200,
          maxDelayMs: tickMs,
          signal: stopping.signal,
          onRetry: (error, failures) => logger.warn({ err: error, failures }, 'lease round failed; backing off'),
        });
      } catch {
        return;
      }
      await pause(nextRoundMs, AbortSignal.any([stopping.signal, wake.signal]));
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
      const entries = [...held.values()];
      for (const entry of entries) entry.read.abort();
      const giveUp = setTimeout(() => {
        for (const entry of entries) entry.finish.abort();
      }, graceMs);
      await Promise.allSettled(entries.map((entry) => entry.run));
      clearTimeout(giveUp);
    },
    isReady: () => ready,
    stalledShards: () => [...stalled],
    heldShards: () => [...held.keys()],
  };
}
