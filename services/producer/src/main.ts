import { AwsClients, createAwsRequestMetrics, withStartupRetries } from '@records/aws-clients';
import { CoalescingCachingMaterialsManager, createDataKeyCacheMetrics } from '@records/data-key-cache';
import { multiRegionKeyring, RecordEncryptor, resolveWrappingKeys } from '@records/envelope';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { buildApp } from './app.js';
import { loadProducerConfig } from './config.js';
import { createProducerMetrics } from './metrics.js';
import { MultiRegionPusher } from './multi-region-pusher.js';
import { createRecordIngestor } from './record-ingestor.js';

const config = loadProducerConfig(process.env);
const { pipeline } = config;
const logger = pino({ level: config.logLevel, base: { service: 'producer' } });
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const clients = new AwsClients({ observer: createAwsRequestMetrics(registry) });
const kms = (region: string) => clients.kms(region);

const keys = await withStartupRetries(logger, 'resolve wrapping keys', () =>
  resolveWrappingKeys({ settings: pipeline.wrappingKeys, regions: pipeline.regions, kms }),
);
// One cache for the whole process: every request shares its data keys and its in-flight KMS calls.
const materials = new CoalescingCachingMaterialsManager({
  backing: multiRegionKeyring(keys, pipeline.regions, kms),
  ...pipeline.cache,
  metrics: createDataKeyCacheMetrics(registry),
  logger,
});
const metrics = createProducerMetrics(registry);
const ingest = createRecordIngestor({
  streamName: pipeline.streamName,
  encryptor: new RecordEncryptor({
    materials,
    maxEncryptedDataKeys: pipeline.maxEncryptedDataKeys,
    ...(pipeline.algorithmSuite === undefined ? {} : { algorithmSuite: pipeline.algorithmSuite }),
  }),
  pusher: new MultiRegionPusher({
    regions: pipeline.regions,
    streamName: pipeline.streamName,
    kinesis: (region) => clients.kinesis(region),
    metrics,
    logger,
  }),
});

let ready = false;
const app = await buildApp({
  logger,
  registry,
  metrics,
  ingest,
  isReady: () => ready,
  bodyLimit: config.maxRecordBytes,
});

closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
  ready = false;
  if (err !== undefined) logger.error({ err }, 'stopping after an unexpected error');
  else logger.info({ signal }, 'stopping');
  await app.close();
  clients.destroy();
});

await app.listen({ host: config.host, port: config.port });
ready = true;
logger.info({ regions: pipeline.regions, stream: pipeline.streamName, wrapping: keys.kind }, 'producer ready');
