import {
  AwsClients,
  combineObservers,
  createAwsRequestMetrics,
  KmsHealth,
  withStartupRetries,
} from '@records/aws-clients';
import { CoalescingCachingMaterialsManager, createDataKeyCacheMetrics } from '@records/data-key-cache';
import { RecordDecryptor, regionKeyring, resolveWrappingKeys } from '@records/envelope';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { CheckpointStore } from './checkpoint-store.js';
import { loadConsumerConfig } from './config.js';
import { DeadLetterSink } from './dead-letter-sink.js';
import { createConsumerMetrics } from './metrics.js';
import { createPoller } from './poller.js';
import { createRecordProcessor } from './record-processor.js';
import { createStatusServer, listen } from './status-server.js';
import { TableWriter } from './table-writer.js';

const config = loadConsumerConfig(process.env);
const { pipeline, region } = config;
const logger = pino({ level: config.logLevel, base: { service: 'consumer', region } });
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const kmsHealth = new KmsHealth();
const clients = new AwsClients({ observer: combineObservers(createAwsRequestMetrics(registry), kmsHealth.observer) });
const kms = (keyRegion: string) => clients.kms(keyRegion);

// Only this region's key is resolved and used: a consumer never calls another region's KMS.
const keys = await withStartupRetries(logger, 'resolve wrapping key', () =>
  resolveWrappingKeys({ settings: pipeline.wrappingKeys, regions: [region], kms }),
);
const materials = new CoalescingCachingMaterialsManager({
  backing: regionKeyring(keys, region, kms),
  ...pipeline.cache,
  metrics: createDataKeyCacheMetrics(registry),
  logger,
});
const metrics = createConsumerMetrics(registry);
const dynamodb = clients.dynamodb(region);
const processBatch = createRecordProcessor({
  region,
  streamName: pipeline.streamName,
  decryptor: new RecordDecryptor({ materials, maxEncryptedDataKeys: pipeline.maxEncryptedDataKeys }),
  kmsHealth,
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
const server = createStatusServer({ registry, isReady: poller.isReady });

closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'stopping after an unexpected error');
  else logger.info({ signal }, 'stopping');
  await poller.stop();
  await new Promise((resolve) => server.close(resolve));
  clients.destroy();
});

const address = await listen(server, config.host, config.port);
poller.start();
logger.info({ port: address.port, stream: pipeline.streamName, table: pipeline.tableName }, 'consumer started');
