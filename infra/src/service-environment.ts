import type { DeployConfig } from './config.js';

/**
 * The services' configuration, under the very variable names the README documents and the services
 * parse (`@records/pipeline-config`); the infrastructure invents none of its own for them.
 */
function shared(config: DeployConfig): Record<string, string> {
  const { pipeline } = config;
  if (pipeline.wrappingKeys.kind !== 'kms') throw new Error('only KMS wrapping keys are deployed');
  return {
    REGIONS: pipeline.regions.join(','),
    STREAM_NAME: pipeline.streamName,
    TABLE_NAME: pipeline.tableName,
    DEAD_LETTER_TABLE_NAME: pipeline.deadLetterTableName,
    CHECKPOINT_TABLE_NAME: pipeline.checkpointTableName,
    WRAPPING_KEYS: 'kms',
    KMS_KEY_ALIAS: pipeline.wrappingKeys.alias,
    ...(pipeline.wrappingKeys.aliasRefresh === undefined
      ? {}
      : { KMS_RETIRING_KEY_ALIAS: pipeline.wrappingKeys.aliasRefresh.retiringAlias }),
    PIPELINE_ATTRIBUTE: pipeline.pipelineAttribute,
    LOG_LEVEL: config.logLevel,
  };
}

/** The CloudWatch namespace of the metrics every service writes in embedded metric format to its log. */
export const METRICS_NAMESPACE = 'RecordsPipeline';

// Powertools' own variables: the namespace, and the `service` dimension of every metric.
const metrics = (service: 'producer' | 'consumer') => ({
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  POWERTOOLS_SERVICE_NAME: service,
});

/** API_KEYS is not here: it reaches the task as an ECS secret, never as plain configuration. */
export function producerEnvironment(config: DeployConfig): Record<string, string> {
  return { ...shared(config), ...metrics('producer'), HOST: '0.0.0.0', PORT: '3000', METRICS_PORT: '9464' };
}

export function consumerEnvironment(config: DeployConfig, region: string): Record<string, string> {
  return { ...shared(config), ...metrics('consumer'), REGION: region, HOST: '0.0.0.0', PORT: '3001' };
}

/** The Lambda handler takes its region from AWS_REGION, and has no port. */
export function lambdaEnvironment(config: DeployConfig): Record<string, string> {
  return { ...shared(config), ...metrics('consumer') };
}
