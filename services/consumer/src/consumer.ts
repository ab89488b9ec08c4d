import type { AwsClients } from '@records/aws-clients';
import {
  CoalescingCachingMaterialsManager,
  createDataKeyCacheMetrics,
  type DataKeyCacheOptions,
} from '@records/data-key-cache';
import { RecordDecryptor, type ResolvedWrappingKeys, regionKeyring } from '@records/envelope';
import type { Registry } from 'prom-client';
import { CheckpointStore } from './checkpoint-store.js';
import type { ConsumerConfig } from './config.js';
import { DeadLetterSink } from './dead-letter-sink.js';
import { createConsumerMetrics } from './metrics.js';
import { createPoller, type Poller } from './poller.js';
import { createRecordProcessor } from './record-processor.js';
import { TableWriter } from './table-writer.js';
import { createUnwrapClassifier } from './unwrap-failure-classifier.js';

type LogFn = (details: object, message: string) => void;

export interface ConsumerDeps {
  readonly config: ConsumerConfig;
  readonly clients: AwsClients;
  /** This region's wrapping key, resolved. */
  readonly keys: ResolvedWrappingKeys;
  readonly registry: Registry;
  readonly logger: { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };
  /** Tests shorten the cache's back-off or drive its clock. */
  readonly cache?: Pick<DataKeyCacheOptions, 'backoff' | 'clock'>;
}

export interface Consumer {
  readonly poller: Poller;
  /** Stops reading, after the current batches, and drops the cached data keys. */
  stop(): Promise<void>;
}

/**
 * One region's consumer: its own data key cache over its region's key only, the record
 * processor writing to the region's tables, and the poller over the region's shards.
 */
export function createConsumer(deps: ConsumerDeps): Consumer {
  const { config, clients, registry, logger } = deps;
  const { pipeline, region } = config;
  const unwrap = createUnwrapClassifier((keyRegion: string) => clients.kms(keyRegion));
  const materials = new CoalescingCachingMaterialsManager({
    backing: unwrap.materials(regionKeyring(deps.keys, region, unwrap.kms)),
    ...pipeline.cache,
    adaptiveRefresh: { maxKeysAhead: pipeline.cache.maxKeysAhead },
    ...deps.cache,
    metrics: createDataKeyCacheMetrics(registry),
    logger,
  });
  const metrics = createConsumerMetrics(registry);
  const dynamodb = clients.dynamodb(region);
  const processBatch = createRecordProcessor({
    region,
    streamName: pipeline.streamName,
    pipelineAttribute: pipeline.pipelineAttribute,
    decryptor: new RecordDecryptor({
      materials,
      maxEncryptedDataKeys: pipeline.maxEncryptedDataKeys,
      commitmentPolicy: config.decryptCommitmentPolicy,
      ...(pipeline.algorithmSuite === undefined ? {} : { algorithmSuite: pipeline.algorithmSuite }),
    }),
    table: new TableWriter({ dynamodb, tableName: pipeline.tableName }),
    deadLetters: new DeadLetterSink(new TableWriter({ dynamodb, tableName: pipeline.deadLetterTableName }), {
      region,
      streamName: pipeline.streamName,
    }),
    metrics,
    decryptConcurrency: config.decryptConcurrency,
    logger,
  });
  const poller = createPoller({
    kinesis: clients.kinesis(region),
    streamName: pipeline.streamName,
    region,
    processBatch,
    checkpoints: new CheckpointStore({
      dynamodb,
      tableName: pipeline.checkpointTableName,
      streamName: pipeline.streamName,
    }),
    metrics,
    logger,
    getRecordsLimit: config.getRecordsLimit,
    idlePollMs: config.idlePollMs,
    shardDiscoveryIntervalMs: config.shardDiscoveryIntervalMs,
  });
  return {
    poller,
    async stop() {
      await poller.stop();
      materials.close();
    },
  };
}
