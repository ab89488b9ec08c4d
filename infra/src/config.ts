import {
  ConfigError,
  deepFreeze,
  type Env,
  integer,
  loadPipelineSettings,
  oneOf,
  type PipelineSettings,
  stringWithDefault,
} from '@records/pipeline-config';

export const CONSUMER_MODES = ['ecs', 'lambda'] as const;
export type ConsumerMode = (typeof CONSUMER_MODES)[number];

/** What `pnpm deploy:aws` deploys: the pipeline's own settings, and the few that only a deployment has. */
export interface DeployConfig {
  /** REGIONS, STREAM_NAME, the table names and KMS_KEY_ALIAS, parsed exactly as the services parse them. */
  readonly pipeline: PipelineSettings;
  /** `ecs`: consumers on Fargate sharing shards by lease; `lambda`: the Lambda handler on an event source mapping. */
  readonly consumerMode: ConsumerMode;
  readonly producerTasks: { readonly min: number; readonly max: number };
  readonly consumerTasks: { readonly min: number; readonly max: number };
  /** Who may reach the producer's load balancer. */
  readonly ingressCidr: string;
  readonly logLevel: string;
}

export function loadDeployConfig(env: Env): DeployConfig {
  const pipeline = loadPipelineSettings(env, { cacheMaxAgeSeconds: 300, refreshAhead: true });
  if (pipeline.wrappingKeys.kind !== 'kms') {
    throw new ConfigError('WRAPPING_KEYS', 'must be kms on AWS: raw AES keys are for local runs');
  }
  const min = (name: string, fallback: number) => integer(env, name, fallback, { min: 1, max: 100 });
  const producerTasks = { min: min('PRODUCER_MIN_TASKS', 2), max: min('PRODUCER_MAX_TASKS', 10) };
  const consumerTasks = { min: min('CONSUMER_MIN_TASKS', 2), max: min('CONSUMER_MAX_TASKS', 4) };
  for (const [name, bounds] of [
    ['PRODUCER_MAX_TASKS', producerTasks],
    ['CONSUMER_MAX_TASKS', consumerTasks],
  ] as const) {
    if (bounds.max < bounds.min) throw new ConfigError(name, `must be at least the minimum (${bounds.min})`);
  }
  return deepFreeze({
    pipeline,
    consumerMode: oneOf(env, 'CONSUMER_MODE', CONSUMER_MODES, 'ecs'),
    producerTasks,
    consumerTasks,
    ingressCidr: stringWithDefault(env, 'PRODUCER_INGRESS_CIDR', '0.0.0.0/0'),
    logLevel: stringWithDefault(env, 'LOG_LEVEL', 'info'),
  });
}
