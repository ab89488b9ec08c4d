import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { AwsClients, createAwsRequestMetrics, withStartupRetries } from '@records/aws-clients';
import { resolveWrappingKeys } from '@records/envelope';
import { buildStatusApp, createEmfMetrics, createEmfPublisher, createServiceRegistry } from '@records/observability';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { createApiKeyCheck } from './api-keys.js';
import { buildApp } from './app.js';
import { loadProducerConfig } from './config.js';
import { PRODUCER_EMF_SERIES } from './metrics.js';
import { createProducer, producerAwsServiceSettings } from './producer.js';

const config = loadProducerConfig(process.env);
const { pipeline } = config;
const logger = pino({ level: config.logLevel, base: { service: 'producer' } });
const registry = createServiceRegistry();
const clients = new AwsClients({
  observer: createAwsRequestMetrics(registry),
  leanCalls: pipeline.leanAwsCalls,
  services: producerAwsServiceSettings(config.requestBudgetMs),
  // The hand-off tables of every region (and the streams): where each region is emulated apart,
  // each has its endpoint.
  endpoints: {
    ...(config.dynamodbEndpoints === undefined ? {} : { dynamodb: config.dynamodbEndpoints }),
    ...(config.kinesisEndpoints === undefined ? {} : { kinesis: config.kinesisEndpoints }),
  },
});

const keys = await withStartupRetries(logger, 'resolve wrapping keys', () =>
  resolveWrappingKeys({
    settings: pipeline.wrappingKeys,
    regions: pipeline.regions,
    kms: (region) => clients.kms(region),
    // New data keys go under the alias's key only; the producer decrypts nothing.
    encryptOnly: true,
    logger,
  }),
);
const producer = createProducer({
  pipeline,
  clients,
  keys,
  registry,
  logger,
  requestBudgetMs: config.requestBudgetMs,
  batching: config.batching,
  handoff: config.handoff,
  encryptThreads: config.encryptThreads,
  instanceId: `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
  clock: {
    now: () => Date.now() + config.clockOffsetMs,
    maxClockSkewMs: config.maxClockSkewMs,
    checkIntervalMs: config.clockCheckIntervalMs,
  },
});

let ready = false;
const app = await buildApp({
  logger,
  registry,
  metrics: producer.metrics,
  ingest: producer.ingest,
  isReady: () => ready,
  isClockSkewed: producer.isClockSkewed,
  bodyLimit: config.maxRecordBytes,
  admission: { maxInFlightRecords: config.maxInFlightRecords, maxInFlightBytes: config.maxInFlightBytes },
  requestTimeoutMs: config.requestTimeoutMs,
  apiKeys: config.apiKeys,
});

// Metrics on a port of their own: the ingest port can be exposed without them.
const metricsServer = await buildStatusApp({
  registry,
  logger,
  metrics:
    config.metricsRequireApiKey && config.apiKeys.length > 0 ? { authorize: createApiKeyCheck(config.apiKeys) } : {},
});
// In ECS, the same metrics reach CloudWatch as EMF lines on stdout (through the awslogs driver).
const emf = config.emf.enabled
  ? createEmfPublisher({
      registry,
      series: PRODUCER_EMF_SERIES,
      metrics: createEmfMetrics({ namespace: config.emf.namespace, service: 'producer' }),
      dimensions: { stream: pipeline.streamName },
      intervalMs: config.emf.intervalMs,
      logger,
    })
  : undefined;

closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
  ready = false;
  if (err !== undefined) logger.error({ err }, 'stopping after an unexpected error');
  else logger.info({ signal }, 'stopping');
  await app.close();
  await producer.close();
  await emf?.stop();
  clients.destroy();
  await metricsServer.close();
});

await metricsServer.listen({ host: config.host, port: config.metricsPort });
const metricsAddress = metricsServer.server.address() as AddressInfo;
await app.listen({ host: config.host, port: config.port, backlog: config.listenBacklog });
ready = true;
emf?.start();
logger.info(
  { regions: pipeline.regions, stream: pipeline.streamName, wrapping: keys.kind, metricsPort: metricsAddress.port },
  'producer ready',
);
