/**
 * Provisions every region for the pipeline and exits: KMS keys and aliases, streams, tables. The
 * compose init container runs this (from the producer's image); `pnpm start` and the tests call
 * the same module in-process.
 */
import { AwsClients, withStartupRetries } from '@records/aws-clients';
import { loadProvisioningSettings } from '@records/pipeline-config';
import { pino } from 'pino';
import { provisionPipeline } from './provision.js';
import { HANDOFF_TABLE_KEY } from './tables.js';

const { pipeline, shardCount, logLevel } = loadProvisioningSettings(process.env);
const logger = pino({ level: logLevel, base: { service: 'provision' } });
const clients = new AwsClients();
try {
  // LocalStack can report healthy a moment before every service takes requests: retry a while.
  const { keyArns } = await withStartupRetries(logger, 'provisioning', () =>
    provisionPipeline({
      clients,
      regions: pipeline.regions,
      streamName: pipeline.streamName,
      shardCount,
      tableNames: [pipeline.tableName, pipeline.deadLetterTableName, pipeline.checkpointTableName],
      keyedTables: [{ name: pipeline.handoffTableName, key: HANDOFF_TABLE_KEY }],
      ...(pipeline.wrappingKeys.kind === 'kms' ? { kmsKeyAlias: pipeline.wrappingKeys.alias } : {}),
      logger,
    }),
  );
  logger.info({ keyArns }, 'provisioned');
} catch (error) {
  logger.fatal({ err: error }, 'provisioning failed');
  process.exitCode = 1;
} finally {
  clients.destroy();
}
