/**
 * Provisions every region for the pipeline and exits: KMS keys and aliases, streams, tables. The
 * compose init container runs this; `pnpm start` and the tests call the same module in-process.
 */
import { AwsClients, withStartupRetries } from '@records/aws-clients';
import { integer, loadPipelineSettings } from '@records/pipeline-config';
import { provisionPipeline } from '@records/provisioning';
import { pino } from 'pino';

const settings = loadPipelineSettings(process.env, { cacheMaxAgeSeconds: 300, refreshAhead: false });
const shardCount = integer(process.env, 'SHARD_COUNT', 2, { min: 1, max: 64 });
const logger = pino({ base: { service: 'provision' } });
const clients = new AwsClients();
try {
  // LocalStack can report healthy a moment before every service takes requests: retry a while.
  const { keyArns } = await withStartupRetries(logger, 'provisioning', () =>
    provisionPipeline({
      clients,
      regions: settings.regions,
      streamName: settings.streamName,
      shardCount,
      tableNames: [settings.tableName, settings.deadLetterTableName, settings.checkpointTableName],
      ...(settings.wrappingKeys.kind === 'kms' ? { kmsKeyAlias: settings.wrappingKeys.alias } : {}),
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
