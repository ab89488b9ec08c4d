import type { AddressInfo } from 'node:net';
import { AwsClients, createAwsRequestMetrics, withStartupRetries } from '@records/aws-clients';
import { resolveWrappingKeys } from '@records/envelope';
import { createEmfMetrics, createEmfPublisher, createServiceRegistry } from '@records/observability';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { CONSUMER_AWS_SERVICES, loadConsumerConfig } from './config.js';
import { createConsumer } from './consumer.js';
import { CONSUMER_EMF_SERIES } from './metrics.js';
import { buildConsumerStatusApp } from './status-server.js';

const config = loadConsumerConfig(process.env);
const { pipeline, region } = config;
const logger = pino({ level: config.logLevel, base: { service: 'consumer', region, worker: config.workerId } });
const registry = createServiceRegistry();
const clients = new AwsClients({
  observer: createAwsRequestMetrics(registry),
  services: CONSUMER_AWS_SERVICES,
  leanCalls: pipeline.leanAwsCalls,
});

// Only this region's key is resolved and used: a consumer never calls another region's KMS.
const keys = await withStartupRetries(logger, 'resolve wrapping key', () =>
  resolveWrappingKeys({
    settings: pipeline.wrappingKeys,
    regions: [region],
    kms: (keyRegion) => clients.kms(keyRegion),
    logger,
  }),
);
const consumer = createConsumer({ config, clients, keys, registry, logger });
const server = await buildConsumerStatusApp({
  registry,
  isReady: consumer.poller.isReady,
  stalledShards: consumer.poller.stalledShards,
  heldShards: consumer.poller.heldShards,
  unownedShards: consumer.poller.unownedShards,
  logger,
});
// In ECS, the same metrics reach CloudWatch as EMF lines on stdout (through the awslogs driver).
const emf = config.emf.enabled
  ? createEmfPublisher({
      registry,
      series: CONSUMER_EMF_SERIES,
      metrics: createEmfMetrics({ namespace: config.emf.namespace, service: 'consumer' }),
      dimensions: { stream: pipeline.streamName },
      intervalMs: config.emf.intervalMs,
      logger,
    })
  : undefined;

closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'stopping after an unexpected error');
  else logger.info({ signal }, 'stopping');
  await consumer.stop();
  await emf?.stop();
  await server.close();
  clients.destroy();
});

await server.listen({ host: config.host, port: config.port });
consumer.poller.start();
emf?.start();
logger.info(
  { port: (server.server.address() as AddressInfo).port, stream: pipeline.streamName, table: pipeline.tableName },
  'consumer started',
);
