import { AwsClients, createAwsRequestMetrics } from '@records/aws-clients';
import type { BackoffOptions } from '@records/data-key-cache';
import { resolveWrappingKeys } from '@records/envelope';
import { Registry } from 'prom-client';
import { loadConsumerConfig } from '../../src/config.js';
import { createConsumer } from '../../src/consumer.js';
import type { Poller } from '../../src/poller.js';
import { credentials, dynamodbEndpoints, kinesisEndpoint } from './emulators.js';
import type { PipelineFixture } from './pipeline-fixture.js';
import { RecordingLogger } from './recording-logger.js';

export interface ConsumerHarnessOptions {
  readonly pipeline: PipelineFixture;
  readonly region: string;
  /** moto_server, or a proxy in front of it. */
  readonly kmsEndpoint: string;
  readonly cacheBackoff?: BackoffOptions;
  /** The data key cache's clock; a test moves it by hand to hold a back-off window open. */
  readonly cacheClock?: () => number;
  readonly getRecordsLimit?: number;
  /** dynalite of the region, or a proxy in front of it. */
  readonly dynamodbEndpoint?: string;
  /** More configuration, as the environment would give it. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ConsumerHarness {
  readonly poller: Poller;
  readonly registry: Registry;
  readonly logger: RecordingLogger;
  readonly region: string;
  stop(): Promise<void>;
}

/**
 * One region's consumer, wired as `src/main.ts` wires it (config parsed from an environment,
 * one Registry, the coalescing cache over the region's
 * keyring), with clients pointed at the emulators and one attempt per AWS request.
 */
export async function createConsumerHarness(options: ConsumerHarnessOptions): Promise<ConsumerHarness> {
  const { pipeline: names, region } = options;
  const config = loadConsumerConfig({
    REGION: region,
    STREAM_NAME: names.streamName,
    TABLE_NAME: names.tableName,
    DEAD_LETTER_TABLE_NAME: names.deadLetterTableName,
    CHECKPOINT_TABLE_NAME: names.checkpointTableName,
    KMS_KEY_ALIAS: names.kmsKeyAlias,
    IDLE_POLL_MS: '200',
    GET_RECORDS_LIMIT: String(options.getRecordsLimit ?? 1000),
    SHARD_DISCOVERY_INTERVAL_MS: '60000',
    ...options.env,
  });
  const logger = new RecordingLogger();
  const registry = new Registry();
  const clients = new AwsClients({
    endpoints: {
      kinesis: kinesisEndpoint(),
      dynamodb: options.dynamodbEndpoint === undefined ? dynamodbEndpoints() : { [region]: options.dynamodbEndpoint },
      kms: options.kmsEndpoint,
    },
    credentials,
    maxAttempts: 1,
    requestTimeoutMs: 1_000,
    observer: createAwsRequestMetrics(registry),
  });
  const keys = await resolveWrappingKeys({
    settings: config.pipeline.wrappingKeys,
    regions: [region],
    kms: (keyRegion) => clients.kms(keyRegion),
  });
  const consumer = createConsumer({
    config,
    clients,
    keys,
    registry,
    logger,
    cache: {
      ...(options.cacheBackoff === undefined ? {} : { backoff: options.cacheBackoff }),
      ...(options.cacheClock === undefined ? {} : { clock: options.cacheClock }),
    },
  });
  const { poller } = consumer;
  let stopped = false;
  return {
    poller,
    registry,
    logger,
    region,
    async stop() {
      if (stopped) return;
      stopped = true;
      await consumer.stop();
      clients.destroy();
    },
  };
}
