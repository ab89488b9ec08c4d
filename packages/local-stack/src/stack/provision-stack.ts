import { AwsClients } from '@records/aws-clients';
import { HANDOFF_TABLE_KEY, provisionPipeline } from '@records/provisioning';
import type { StackConfig } from './stack-config.js';
import type { StackEndpoints } from './stack-endpoints.js';

/** Keys, aliases, streams and tables in every region, as the services expect them. */
export async function provisionStack(config: StackConfig, endpoints: StackEndpoints): Promise<void> {
  const { pipeline } = config;
  const { wrapping } = endpoints;
  const clients = new AwsClients({
    ...(config.usesOwnCredentials ? {} : { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    endpoints: {
      kinesis: endpoints.byRegion((region) => region.kinesis),
      dynamodb: endpoints.byRegion((region) => region.dynamodb),
      ...(wrapping.kind === 'kms' ? { kms: endpoints.byRegion((region) => region.kms as string) } : {}),
    },
  });
  try {
    await provisionPipeline({
      clients,
      regions: pipeline.regions,
      streamName: pipeline.streamName,
      shardCount: config.shardCount,
      tableNames: [pipeline.tableName, pipeline.deadLetterTableName, pipeline.checkpointTableName],
      keyedTables: [{ name: pipeline.handoffTableName, key: HANDOFF_TABLE_KEY }],
      ...(wrapping.kind === 'kms' ? { kmsKeyAlias: wrapping.alias } : {}),
    });
  } finally {
    clients.destroy();
  }
}
