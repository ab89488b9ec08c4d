/**
 * The consumer as an AWS Lambda handler, for a Kinesis event source mapping with
 * ReportBatchItemFailures. Everything built here lives across invocations of one execution
 * environment, the data key cache above all.
 */
import { AwsClients } from '@records/aws-clients';
import { resolveWrappingKeys } from '@records/envelope';
import { createEmfMetrics, createServiceRegistry } from '@records/observability';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { pino } from 'pino';
import { CONSUMER_AWS_SERVICES, loadLambdaConfig } from './config.js';
import { createInvocationMetrics } from './invocation-metrics.js';
import { createKinesisEventHandler, type InvocationContext } from './kinesis-event-handler.js';
import { createRecordPipeline } from './record-pipeline.js';

const config = loadLambdaConfig(process.env);
// JSON lines on stdout, which Lambda sends to the function's log group, one event a line. Written
// synchronously: an environment is frozen between invocations, and a line still queued would wait.
const logger = pino(
  { level: config.logLevel, base: { service: 'consumer-lambda', region: config.region } },
  pino.destination({ dest: 1, sync: true }),
);
const clients = new AwsClients({ services: CONSUMER_AWS_SERVICES, leanCalls: config.pipeline.leanAwsCalls });

async function build() {
  // Only this region's key: the function never calls another region's KMS.
  const keys = await resolveWrappingKeys({
    settings: config.pipeline.wrappingKeys,
    regions: [config.region],
    kms: (region) => clients.kms(region),
    logger,
  });
  const registry = createServiceRegistry();
  const records = createRecordPipeline({ config, clients, keys, registry, logger });
  const publishMetrics = config.emf.enabled
    ? createInvocationMetrics({
        registry,
        metrics: createEmfMetrics({ namespace: config.emf.namespace, service: 'consumer' }),
      })
    : undefined;
  const handle = createKinesisEventHandler({
    processorFor: (streamName) => records.processorFor(streamName),
    logger,
    chunkSize: config.lambdaChunkSize,
    reserveMs: config.lambdaReserveMs,
    outageWaitMs: config.lambdaOutageWaitMs,
  });
  return { handle, publishMetrics };
}

let ready: ReturnType<typeof build> | undefined;

export async function handler(
  event: KinesisStreamEvent,
  context?: InvocationContext,
): Promise<KinesisStreamBatchResponse> {
  ready ??= build().catch((error: unknown) => {
    // A failed start (the key alias not yet resolvable, say) is tried again at the next invocation.
    ready = undefined;
    throw error;
  });
  const receivedAt = Date.now();
  const { handle, publishMetrics } = await ready;
  try {
    return await handle(event, context);
  } finally {
    await publishMetrics?.(event, receivedAt).catch((error: unknown) =>
      logger.warn({ err: error }, 'metrics not published in EMF'),
    );
  }
}
