import { randomUUID } from 'node:crypto';
import type { AwsClients, AwsService, AwsServiceSettings } from '@records/aws-clients';
import {
  CoalescingCachingMaterialsManager,
  createDataKeyCacheMetrics,
  type DataKeyCacheOptions,
} from '@records/data-key-cache';
import { multiRegionKeyring, RecordEncryptor, type ResolvedWrappingKeys } from '@records/envelope';
// A subpath of its own: the worker pool stays out of what the consumer's Lambda bundles.
import { ThreadedRecordEncryptor } from '@records/envelope/threads';
import type { PipelineSettings } from '@records/pipeline-config';
import type { Registry } from 'prom-client';
import type { HandoffConfig } from './config.js';
import { DEFAULT_REQUEST_BUDGET_MS } from './config.js';
import type { DeadlineClock } from './deadline.js';
import { HandoffBacklog } from './handoff/handoff-backlog.js';
import { HandoffRepairer } from './handoff/handoff-repairer.js';
import { HandoffStore } from './handoff/handoff-store.js';
import { RegionBreakers } from './handoff/region-breakers.js';
import { createProducerMetrics, type ProducerMetrics, registerHandoffGauges } from './metrics.js';
import { MultiRegionPusher, type PusherHandoff } from './multi-region-pusher.js';
import { createRecordIngestor, type RecordIngestor } from './record-ingestor.js';
import type { ShardPacing } from './shard-pacer.js';
import { createClockMetrics } from './versions/clock-metrics.js';
import { ClockSkewMonitor } from './versions/clock-skew-monitor.js';
import { HybridClock } from './versions/hybrid-clock.js';

type LogFn = (details: object, message: string) => void;

/** REQUEST_BUDGET_MS when unset. */

/**
 * How the producer's AWS clients are bounded, from the request budget (see the comment on
 * AwsServiceSettings for where the SDK retries and where we do). PutRecords gets one attempt: the
 * pusher retries it within the request's deadline. A KMS call cannot be aborted by one request (the
 * data key cache shares it), so its own bounds end it soon after a budget: two attempts (a throttled
 * or dropped call is tried once more) of 0.6 budgets each, 1.2 budgets at most. Slightly over one
 * budget, so the requests waiting on a late call hear KMS_TIMEOUT (their budget ran out) rather
 * than the call's own failure, and the cache learns of that failure, and backs off, soon after.
 */
export function producerAwsServiceSettings(requestBudgetMs: number): Partial<Record<AwsService, AwsServiceSettings>> {
  return {
    kinesis: { maxAttempts: 1 },
    kms: { maxAttempts: 2, requestTimeoutMs: Math.ceil(requestBudgetMs * 0.6) },
  };
}

export interface ProducerClock {
  /** This process's clock in ms (Date.now() shifted by CLOCK_OFFSET_MS); versions and checks read it. */
  readonly now: () => number;
  /** MAX_CLOCK_SKEW_MS: how far apart any two producers' clocks may be; each answer waits it out. */
  readonly maxClockSkewMs: number;
  /** CLOCK_CHECK_INTERVAL_MS: how often the clock is measured against the streams'. */
  readonly checkIntervalMs: number;
}

export const DEFAULT_CLOCK: ProducerClock = Object.freeze({
  now: () => Date.now(),
  maxClockSkewMs: 50,
  checkIntervalMs: 10_000,
});

export interface ProducerDeps {
  readonly pipeline: PipelineSettings;
  readonly clients: AwsClients;
  /** Every region's wrapping key, resolved. */
  readonly keys: ResolvedWrappingKeys;
  readonly registry: Registry;
  readonly logger: { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };
  /** Tests shorten the cache's back-off. */
  readonly cache?: Pick<DataKeyCacheOptions, 'backoff'>;
  /**
   * Everything one record waits on (the data key, encryption, the puts) fits in this
   * (REQUEST_BUDGET_MS); default 10 s. Build `clients` with `producerAwsServiceSettings` of the same budget.
   */
  readonly requestBudgetMs?: number;
  /** Tests step the deadlines' time. */
  readonly deadlineClock?: DeadlineClock;
  /**
   * How records are grouped into PutRecords calls (PUT_LINGER_MS, PUT_MAX_LINGER_MS, PUT_BATCH_RECORDS, PUT_BATCH_BYTES)
   * and paced per shard (PUT_SHARD_RECORDS_PER_SECOND, PUT_SHARD_BYTES_PER_SECOND).
   */
  readonly batching?: Partial<ProducerBatching>;
  /** Hand-off (HANDOFF and its settings); without it, a record is acknowledged only once every region took it. */
  readonly handoff?: HandoffConfig;
  /** Names this process on the hand-off claims it takes. */
  readonly instanceId?: string;
  /** The clock versions come from, its skew bound and how often it is checked; default DEFAULT_CLOCK. */
  readonly clock?: Partial<ProducerClock>;
  /**
   * ENCRYPT_THREADS: worker threads that run the SDK's encrypt, fed materials by the one cache in
   * this thread; 0 (the default here) encrypts on the event loop.
   */
  readonly encryptThreads?: number;
}

export interface ProducerBatching {
  readonly lingerMs: number;
  /** Adaptive linger's bound: see PutRecordsBatcherOptions.maxLingerMs. */
  readonly maxLingerMs: number;
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly pacing: ShardPacing;
}

/**
 * Kinesis's own limits for one PutRecords call and for one shard, and lingers that go unnoticed:
 * every 201 waits out MAX_CLOCK_SKEW_MS (50 ms) from the record's version, alongside encryption and
 * the puts, so a record that waits 20 ms for others (and its put's few ms) is answered no later. At 16
 * in flight 20 ms rather than 5 ms cut PutRecords calls per record by 15-30% and CPU per record by
 * 3-10% (bench/results/profile.md). Under load a batch may keep gathering up to 50 ms.
 */
export const DEFAULT_BATCHING: ProducerBatching = Object.freeze({
  lingerMs: 20,
  maxLingerMs: 50,
  maxRecords: 500,
  maxBytes: 5 * 1024 * 1024,
  pacing: Object.freeze({ recordsPerSecond: 1_000, bytesPerSecond: 1024 * 1024 }),
});

export interface Producer {
  readonly ingest: RecordIngestor;
  readonly metrics: ProducerMetrics;
  /** True while the clock is proven outside the skew bound: records are refused, /readyz is not ready. */
  isClockSkewed(): boolean;
  /** Stops the hand-off repairer and the clock check, and drops the cached data keys. */
  close(): Promise<void>;
}

/**
 * What `POST /records` runs on: one data key cache for the whole process over a keyring that
 * wraps every data key in every region, and a pusher to every region's stream.
 */
export function createProducer(deps: ProducerDeps): Producer {
  const { pipeline, clients, registry } = deps;
  // One cache for the whole process: every request shares its data keys and its in-flight KMS calls.
  const { maxKeysAhead, ...bounds } = pipeline.cache;
  const materials = new CoalescingCachingMaterialsManager({
    backing: multiRegionKeyring(deps.keys, pipeline.regions, (region) => clients.kms(region)),
    // The pipeline's cache settings, mapped onto the cache's own options.
    ...bounds,
    adaptiveRefresh: { maxKeysAhead },
    ...deps.cache,
    metrics: createDataKeyCacheMetrics(registry),
    logger: deps.logger,
  });
  const metrics = createProducerMetrics(registry);
  const handoff = deps.handoff?.enabled ? buildHandoff(deps) : undefined;
  const clockSettings = { ...DEFAULT_CLOCK, ...deps.clock };
  const clock = new HybridClock({ now: clockSettings.now, maxClockSkewMs: clockSettings.maxClockSkewMs });
  const monitor = new ClockSkewMonitor({
    clock,
    streamName: pipeline.streamName,
    kinesis: (region) => clients.kinesis(region),
    intervalMs: clockSettings.checkIntervalMs,
    metrics: createClockMetrics(registry),
    logger: deps.logger,
  });
  const pusher = new MultiRegionPusher({
    regions: pipeline.regions,
    streamName: pipeline.streamName,
    kinesis: (region) => clients.kinesis(region),
    metrics,
    logger: deps.logger,
    batching: { ...DEFAULT_BATCHING, ...deps.batching },
    ...(handoff === undefined ? {} : { handoff: handoff.pusher }),
    observer: (region) => monitor.observer(region),
  });
  pusher.listShards();
  const repairer =
    handoff === undefined || deps.handoff === undefined
      ? undefined
      : new HandoffRepairer({
          regions: pipeline.regions,
          store: handoff.pusher.store,
          backlog: handoff.pusher.backlog,
          deliver: (target, entry, signal) => pusher.deliver(target, entry, signal),
          owner: deps.instanceId ?? randomUUID(),
          claimMs: deps.handoff.claimMs,
          intervalMs: deps.handoff.repairIntervalMs,
          batchSize: 100,
          now: Date.now,
          logger: deps.logger,
          onDelivered: (target) => metrics.handoffDelivered.inc({ target_region: target }),
        });
  repairer?.start();
  const cipher = {
    materials,
    maxEncryptedDataKeys: pipeline.maxEncryptedDataKeys,
    ...(pipeline.algorithmSuite === undefined ? {} : { algorithmSuite: pipeline.algorithmSuite }),
  };
  const threads = deps.encryptThreads ?? 0;
  const threaded = threads > 0 ? new ThreadedRecordEncryptor({ ...cipher, threads }) : undefined;
  const ingest = createRecordIngestor({
    streamName: pipeline.streamName,
    pipelineAttribute: pipeline.pipelineAttribute,
    encryptor: threaded ?? new RecordEncryptor(cipher),
    pusher,
    clock,
    skew: {
      get skewed() {
        return monitor.skewed;
      },
      retryAfterMs: clockSettings.checkIntervalMs,
    },
    requestBudgetMs: deps.requestBudgetMs ?? DEFAULT_REQUEST_BUDGET_MS,
    ...(deps.deadlineClock === undefined ? {} : { deadlineClock: deps.deadlineClock }),
  });
  return {
    ingest,
    metrics,
    isClockSkewed: () => monitor.skewed,
    close: async () => {
      monitor.stop();
      await repairer?.stop();
      pusher.flush();
      await threaded?.close();
      materials.close();
    },
  };
}

function buildHandoff(deps: ProducerDeps): { pusher: PusherHandoff } {
  const { pipeline, clients, registry, logger } = deps;
  const config = deps.handoff as HandoffConfig;
  const stores = new Map(
    pipeline.regions.map((region) => [
      region,
      new HandoffStore({ dynamodb: clients.dynamodb(region), tableName: pipeline.handoffTableName }),
    ]),
  );
  const backlog = new HandoffBacklog({ maxRecords: config.maxRecords, maxBytes: config.maxBytes });
  const breakers = new RegionBreakers({
    failures: 3,
    probeAfterMs: 1_000,
    onChange: (region, open) =>
      open
        ? logger.warn({ region }, 'region stream breaker open: records wait for it in hand-off')
        : logger.warn({ region }, 'region stream breaker closed: records are put to it again'),
  });
  registerHandoffGauges(registry, {
    regions: pipeline.regions,
    pending: (target) => backlog.pending(target),
    isOpen: (region) => breakers.isOpen(region),
    now: Date.now,
  });
  return {
    pusher: {
      store: (region) => stores.get(region) as HandoffStore,
      backlog,
      breakers,
      afterMs: config.afterMs,
      now: Date.now,
    },
  };
}
