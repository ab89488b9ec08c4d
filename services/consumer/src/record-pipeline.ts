import type { AwsClients } from '@records/aws-clients';
import {
  CoalescingCachingMaterialsManager,
  createDataKeyCacheMetrics,
  type DataKeyCacheOptions,
} from '@records/data-key-cache';
import { RecordDecryptor, type ResolvedWrappingKeys, regionKeyring } from '@records/envelope';
import type { Logger } from '@records/observability';
import type { Registry } from 'prom-client';
import type { ConsumerConfig } from './config.js';
import { DeadLetterSink } from './dead-letter-sink.js';
import { type ConsumerMetrics, createConsumerMetrics } from './metrics.js';
import { createRecordProcessor, type RecordProcessor } from './record-processor.js';
import { TableWriter } from './table-writer.js';
import { createUnwrapClassifier } from './unwrap-failure-classifier.js';

export interface RecordPipelineDeps {
  readonly config: ConsumerConfig;
  readonly clients: AwsClients;
  /** This region's wrapping key, resolved. */
  readonly keys: ResolvedWrappingKeys;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Tests shorten the cache's back-off or drive its clock. */
  readonly cache?: Pick<DataKeyCacheOptions, 'backoff' | 'clock'>;
}

export interface RecordPipeline {
  readonly metrics: ConsumerMetrics;
  /** The decrypt, verify and write core for records read from `streamName`. */
  processorFor(streamName: string): RecordProcessor;
  /** Drops the cached data keys. */
  close(): void;
}

/**
 * What every consumer runs on, the long-running poller and the Lambda handler alike: one data key
 * cache for the process over this region's key only, and processors that write this region's tables.
 */
export function createRecordPipeline(deps: RecordPipelineDeps): RecordPipeline {
  const { config, clients, registry, logger } = deps;
  const { pipeline, region } = config;
  const unwrap = createUnwrapClassifier((keyRegion: string) => clients.kms(keyRegion));
  const { maxKeysAhead, ...bounds } = pipeline.cache;
  const materials = new CoalescingCachingMaterialsManager({
    backing: unwrap.materials(regionKeyring(deps.keys, region, unwrap.kms)),
    // The pipeline's cache settings, mapped onto the cache's own options.
    ...bounds,
    adaptiveRefresh: { maxKeysAhead },
    ...deps.cache,
    metrics: createDataKeyCacheMetrics(registry),
    logger,
  });
  const metrics = createConsumerMetrics(registry, region);
  const dynamodb = clients.dynamodb(region);
  const decryptor = new RecordDecryptor({
    materials,
    maxEncryptedDataKeys: pipeline.maxEncryptedDataKeys,
    commitmentPolicy: config.decryptCommitmentPolicy,
    ...(pipeline.algorithmSuite === undefined ? {} : { algorithmSuite: pipeline.algorithmSuite }),
  });
  const table = new TableWriter({ dynamodb, tableName: pipeline.tableName });
  const deadLetterTable = new TableWriter({ dynamodb, tableName: pipeline.deadLetterTableName });
  const processors = new Map<string, RecordProcessor>();
  return {
    metrics,
    processorFor(streamName) {
      let processor = processors.get(streamName);
      if (processor === undefined) {
        processor = createRecordProcessor({
          region,
          streamName,
          pipelineAttribute: pipeline.pipelineAttribute,
          decryptor,
          table,
          deadLetters: new DeadLetterSink(deadLetterTable, { region, streamName }),
          metrics,
          decryptConcurrency: config.decryptConcurrency,
          logger,
        });
        processors.set(streamName, processor);
      }
      return processor;
    },
    close: () => materials.close(),
  };
}
