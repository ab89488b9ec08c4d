/**
 * The consumer as an AWS Lambda handler, for a Kinesis event source mapping with
 * ReportBatchItemFailures. Everything built here lives across invocations of one execution
 * environment, the data key cache above all.
 */
import { AwsClients } from '@records/aws-clients';
import { resolveWrappingKeys } from '@records/envelope';
import { createServiceRegistry } from '@records/observability';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { pino } from 'pino';
import { CONSUMER_AWS_SERVICES, loadLambdaConfig } from './config.js';
import { createKinesisEventHandler, type InvocationContext } from './kinesis-event-handler.js';
import { createRecordPipeline } from './record-pipeline.js';

const config = loadLambdaConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: 'consumer-lambda', region: config.region } });
const clients = new AwsClients({ services: CONSUMER_AWS_SERVICES });

async function build() {
  // Only this region's key: the function never calls another region's KMS.
  const keys = await resolveWrappingKeys({
    settings: config.pipeline.wrappingKeys,
    regions: [config.region],
    kms: (region) => clients.kms(region),
  });
  const records = createRecordPipeline({ config, clients, keys, registry: createServiceRegistry(), logger });
  return createKinesisEventHandler({
    processorFor: (streamName) => records.processorFor(streamName),
    logger,
    chunkSize: config.lambdaChunkSize,
    reserveMs: config.lambdaReserveMs,
    outageWaitMs: config.lambdaOutageWaitMs,
  });
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
  return (await ready)(event, context);
}
