import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { pause, retry } from '@records/retry';
import type { CheckpointStore } from './checkpoint-store.js';
import type { ConsumerMetrics } from './metrics.js';
import type { RecordProcessor } from './record-processor.js';
import { ShardReader } from './shard-reader.js';

export interface PollerDeps {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly region: string;
  readonly processBatch: RecordProcessor;
  readonly checkpoints: Pick<CheckpointStore, 'load' | 'save'>;
  readonly metrics: ConsumerMetrics;
  readonly logger: {
    info(object: object, message: string): void;
    warn(object: object, message: string): void;
  };
  readonly getRecordsLimit: number;
  readonly idlePollMs: number;
  readonly shardDiscoveryIntervalMs: number;
}

export interface Poller {
  start(): void;
  /** Stops reading; resolves once every shard reader has finished its current batch. */
  stop(): Promise<void>;
  /** True once the shards have been listed and their readers started. */
  isReady(): boolean;
  /** Shards whose current batch keeps failing (KMS or DynamoDB unavailable), waiting to retry it. */
  stalledShards(): string[];
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
 * Lists the region stream's shards and runs one ShardReader per shard, each resuming after its
 * checkpoint. Shards appearing after a reshard are picked up at a later discovery, once their
 * parents are drained. One consumer per region owns all of its region's shards: there are no
 * leases to share them out.
 */
export function createPoller(deps: PollerDeps): Poller {
  const controller = new AbortController();
  const readers = new Map<string, Promise<unknown>>();
  const finished = new Set<string>();
  let ready = false;
  const stalled = new Set<string>();
  const setStalled = (shardId: string, isStalled: boolean) => {
    if (isStalled) stalled.add(shardId);
    else stalled.delete(shardId);
    deps.metrics.stalledShards.set({ region: deps.region }, stalled.size);
  };
  let discovery: Promise<void> | undefined;
  // Aborted when a shard is drained, so that its children are looked for at once.
  let wake = new AbortController();
  const shardDone = (shardId: string) => {
    finished.add(shardId);
    wake.abort();
  };

  async function readShard(shardId: string): Promise<void> {
    const checkpoint = await deps.checkpoints.load(shardId);
    if (checkpoint?.kind === 'shard-end') {
      shardDone(shardId);
      return;
    }
    const reader = new ShardReader({
      ...deps,
      shardId,
      ...(checkpoint === undefined ? {} : { startAfterSequenceNumber: checkpoint.sequenceNumber }),
      onBatchDone: (sequenceNumber) => deps.checkpoints.save(shardId, { kind: 'after', sequenceNumber }),
      onStall: (isStalled) => setStalled(shardId, isStalled),
    });
    if ((await reader.run(controller.signal)) === 'closed') {
      await deps.checkpoints.save(shardId, { kind: 'shard-end' });
      shardDone(shardId);
    }
  }

  function startReader(shardId: string) {
    const run = readShard(shardId)
      .catch((error: unknown) => {
        deps.logger.warn({ shardId, err: error }, 'shard reader failed; it restarts at the next discovery');
      })
      .finally(() => {
        readers.delete(shardId);
        setStalled(shardId, false);
      });
    readers.set(shardId, run);
  }

  async function discoverLoop() {
    while (!controller.signal.aborted) {
      wake = new AbortController();
      try {
        const shards = await retry(() => listShards(deps.kinesis, deps.streamName), {
          attempts: Number.POSITIVE_INFINITY,
          minDelayMs: 500,
          maxDelayMs: 15_000,
          signal: controller.signal,
          onRetry: (error, failures) => deps.logger.warn({ err: error, failures }, 'ListShards failed; backing off'),
        });
        const listed = new Set(shards.map((shard) => shard.ShardId));
        // After a reshard, a child waits until its parents still in the stream are read to their end,
        // so that records of one id (one partition key) are written in order, as KCL does.
        const parentsDone = (shard: Shard) =>
          [shard.ParentShardId, shard.AdjacentParentShardId].every(
            (parent) => parent === undefined || !listed.has(parent) || finished.has(parent),
          );
        for (const shard of shards) {
          const { ShardId } = shard;
          if (ShardId === undefined || readers.has(ShardId) || finished.has(ShardId)) continue;
          if (parentsDone(shard)) startReader(ShardId);
        }
        if (!ready) deps.logger.info({ shards: shards.length, stream: deps.streamName }, 'reading shards');
        ready = true;
        await pause(deps.shardDiscoveryIntervalMs, AbortSignal.any([controller.signal, wake.signal]));
      } catch (error) {
        // Listing is retried until stopped; anything else that failed here is logged and tried again later.
        if (controller.signal.aborted) return;
        deps.logger.warn({ err: error }, 'shard discovery failed; trying again');
        await pause(deps.shardDiscoveryIntervalMs, controller.signal);
      }
    }
  }

  return {
    start() {
      discovery ??= discoverLoop();
    },
    async stop() {
      ready = false;
      controller.abort();
      await discovery;
      await Promise.allSettled(readers.values());
    },
    isReady: () => ready,
    stalledShards: () => [...stalled],
  };
}
