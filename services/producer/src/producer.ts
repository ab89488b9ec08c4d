import type { AwsClients, AwsService, AwsServiceSettings } from '@records/aws-clients';
import {
  CoalescingCachingMaterialsManager,
  createDataKeyCacheMetrics,
  type DataKeyCacheOptions,
} from '@records/data-key-cache';
import { multiRegionKeyring, RecordEncryptor, type ResolvedWrappingKeys } from '@records/envelope';
import type { PipelineSettings } from '@records/pipeline-config';
import type { Registry } from 'prom-client';
import type { DeadlineClock } from './deadline.js';
import { createProducerMetrics, type ProducerMetrics } from './metrics.js';
import { MultiRegionPusher } from './multi-region-pusher.js';
import { createRecordIngestor, type RecordIngestor } from './record-ingestor.js';
import type { ShardPacing } from './shard-pacer.js';

type LogFn = (details: object, message: string) => void;

/** REQUEST_BUDGET_MS when unset. */
export const DEFAULT_REQUEST_BUDGET_MS = 10_000;

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

export interface ProducerDeps {
  readonly pipeline: PipelineSettings;
  readonly clients: AwsClients;
  /** Every region's wrapping key, resolved. */
  readonly keys: ResolvedWrappingKeys;
  readonly registry: Registry;
  readonly logger: { debug: LogFn; warn: LogFn; error: LogFn };
  /** Tests shorten the cache's back-off. */
  readonly cache?: Pick<DataKeyCacheOptions, 'backoff'>;
  /**
   * Everything one record waits on (the data key, encryption, the puts) fits in this
   * (REQUEST_BUDGET_MS); default 10 s. Build `clients` with `producerAwsServiceSettings` of the same budget.
   */
  readonly requestBudgetMs?: number;
  /** Tests step the deadlines' time. */
  readonly clock?: DeadlineClock;
  /**
   * How records are grouped into PutRecords calls (PUT_LINGER_MS, PUT_BATCH_RECORDS, PUT_BATCH_BYTES)
   * and paced per shard (PUT_SHARD_RECORDS_PER_SECOND, PUT_SHARD_BYTES_PER_SECOND).
   */
  readonly batching?: Partial<ProducerBatching>;
}

export interface ProducerBatching {
  readonly lingerMs: number;
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly pacing: ShardPacing;
}

/** Kinesis's own limits for one PutRecords call and for one shard, and a linger short enough to go unnoticed. */
export const DEFAULT_BATCHING: ProducerBatching = Object.freeze({
  lingerMs: 5,
  maxRecords: 500,
  maxBytes: 5 * 1024 * 1024,
  pacing: Object.freeze({ recordsPerSecond: 1_000, bytesPerSecond: 1024 * 1024 }),
});

export interface Producer {
  readonly ingest: RecordIngestor;
  readonly metrics: ProducerMetrics;
  /** Drops the cached data keys. */
  close(): void;
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
  const pusher = new MultiRegionPusher({
    regions: pipeline.regions,
    streamName: pipeline.streamName,
    kinesis: (region) => clients.kinesis(region),
    metrics,
    logger: deps.logger,
    batching: { ...DEFAULT_BATCHING, ...deps.batching },
  });
  const ingest = createRecordIngestor({
    streamName: pipeline.streamName,
    pipelineAttribute: pipeline.pipelineAttribute,
    encryptor: new RecordEncryptor({
      materials,
      maxEncryptedDataKeys: pipeline.maxEncryptedDataKeys,
      ...(pipeline.algorithmSuite === undefined ? {} : { algorithmSuite: pipeline.algorithmSuite }),
    }),
    pusher,
    requestBudgetMs: deps.requestBudgetMs ?? DEFAULT_REQUEST_BUDGET_MS,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });
  return {
    ingest,
    metrics,
    close: () => {
      pusher.flush();
      materials.close();
    },
  };
}
