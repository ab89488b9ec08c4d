import {
  boolean,
  ConfigError,
  deepFreeze,
  type Env,
  integer,
  loadPipelineSettings,
  oneOf,
  optionalString,
  type PipelineSettings,
  stringList,
  stringWithDefault,
} from '@records/pipeline-config';

const CONSUMER_MODES = ['ecs', 'lambda'] as const;
export type ConsumerMode = (typeof CONSUMER_MODES)[number];

const LOAD_BALANCER_SCHEMES = ['internet-facing', 'internal'] as const;
type LoadBalancerScheme = (typeof LOAD_BALANCER_SCHEMES)[number];

/**
 * Where the producer's API keys come from: a secret the stack generates, one you name, or none at
 * all (an open API, only when PRODUCER_ALLOW_ANONYMOUS says so).
 */
type ApiKeysSource =
  | { readonly kind: 'generated' }
  | { readonly kind: 'secret'; readonly secretArn: string }
  | { readonly kind: 'anonymous' };

/** How clients reach the producers. */
interface ProducerEndpoint {
  /** `internet-facing` (default) needs a certificate; `internal` is reachable only inside the VPC. */
  readonly scheme: LoadBalancerScheme;
  /** The ACM certificate of the HTTPS listener; without one (internal only) the listener is HTTP on port 80. */
  readonly certificateArn?: string;
  /** Who may reach the load balancer; undefined: the VPC's own CIDR block (internal only). */
  readonly ingressCidr?: string;
  readonly apiKeys: ApiKeysSource;
}

/** What `pnpm deploy:aws` deploys: the pipeline's own settings, and the few that only a deployment has. */
export interface DeployConfig {
  /** REGIONS, STREAM_NAME, the table names and KMS_KEY_ALIAS, parsed exactly as the services parse them. */
  readonly pipeline: PipelineSettings;
  /** `ecs`: consumers on Fargate sharing shards by lease; `lambda`: the Lambda handler on an event source mapping. */
  readonly consumerMode: ConsumerMode;
  readonly producerTasks: { readonly min: number; readonly max: number };
  readonly consumerTasks: { readonly min: number; readonly max: number };
  readonly producerEndpoint: ProducerEndpoint;
  /** Per region, the SNS topic its alarms notify (alarms notify topics of their own region only); undefined: each stack creates its own. */
  readonly alarmTopicArns?: Readonly<Record<string, string>>;
  readonly logLevel: string;
}

// Full ARNs only: ECS and IAM need the exact resource, and a typo should fail here, not at deploy.
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]+$/;

function matching(env: Env, name: string, pattern: RegExp, shape: string): string | undefined {
  const value = optionalString(env, name);
  if (value !== undefined && !pattern.test(value)) throw new ConfigError(name, `must be ${shape}, got "${value}"`);
  return value;
}

function apiKeysSource(env: Env): ApiKeysSource {
  // Whatever the deploy environment holds would be written into the template in clear.
  if (optionalString(env, 'API_KEYS') !== undefined) {
    throw new ConfigError(
      'API_KEYS',
      'is not deployed from the environment: put the keys in Secrets Manager and set API_KEYS_SECRET_ARN, or unset both for a generated secret',
    );
  }
  const secretArn = matching(
    env,
    'API_KEYS_SECRET_ARN',
    SECRET_ARN,
    'the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)',
  );
  const anonymous = boolean(env, 'PRODUCER_ALLOW_ANONYMOUS', false);
  if (anonymous && secretArn !== undefined) {
    throw new ConfigError('PRODUCER_ALLOW_ANONYMOUS', 'cannot be true beside API_KEYS_SECRET_ARN: choose one');
  }
  if (anonymous) return { kind: 'anonymous' };
  return secretArn === undefined ? { kind: 'generated' } : { kind: 'secret', secretArn };
}

function producerEndpoint(env: Env, firstRegion: string): ProducerEndpoint {
  const scheme = oneOf(env, 'PRODUCER_LOAD_BALANCER', LOAD_BALANCER_SCHEMES, 'internet-facing');
  const certificateArn = matching(
    env,
    'PRODUCER_CERTIFICATE_ARN',
    CERTIFICATE_ARN,
    'the ARN of an ACM certificate (arn:aws:acm:REGION:ACCOUNT:certificate/ID)',
  );
  const certificateRegion = certificateArn?.match(CERTIFICATE_ARN)?.[1];
  if (certificateRegion !== undefined && certificateRegion !== firstRegion) {
    throw new ConfigError(
      'PRODUCER_CERTIFICATE_ARN',
      `must be a certificate in ${firstRegion}, the first of REGIONS, where the load balancer runs (got one in ${certificateRegion})`,
    );
  }
  if (scheme === 'internet-facing' && certificateArn === undefined) {
    throw new ConfigError(
      'PRODUCER_CERTIFICATE_ARN',
      `is required: the producers' internet-facing load balancer serves HTTPS only (an ACM certificate in ${firstRegion}), or set PRODUCER_LOAD_BALANCER=internal for one reachable only inside the VPC`,
    );
  }
  const ingressCidr = optionalString(env, 'PRODUCER_INGRESS_CIDR') ?? (scheme === 'internal' ? undefined : '0.0.0.0/0');
  return deepFreeze({
    scheme,
    ...(certificateArn === undefined ? {} : { certificateArn }),
    ...(ingressCidr === undefined ? {} : { ingressCidr }),
    apiKeys: apiKeysSource(env),
  });
}

// A CloudWatch alarm notifies only a topic of its own region: one topic per region, or none.
function alarmTopics(env: Env, regions: readonly string[]): Record<string, string> | undefined {
  const arns = stringList(env, 'ALARM_TOPIC_ARN', []);
  if (arns.length === 0) return undefined;
  const byRegion: Record<string, string> = {};
  for (const arn of arns) {
    const region = arn.match(TOPIC_ARN)?.[1];
    if (region === undefined) throw new ConfigError('ALARM_TOPIC_ARN', `must list SNS topic ARNs, got "${arn}"`);
    if (!regions.includes(region) || byRegion[region] !== undefined) {
      throw new ConfigError(
        'ALARM_TOPIC_ARN',
        `must list one topic in each of REGIONS, got a second or stray one in ${region}`,
      );
    }
    byRegion[region] = arn;
  }
  const missing = regions.filter((region) => byRegion[region] === undefined);
  if (missing.length > 0) throw new ConfigError('ALARM_TOPIC_ARN', `has no topic in ${missing.join(', ')}`);
  return byRegion;
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
  const alarmTopicArns = alarmTopics(env, pipeline.regions);
  return deepFreeze({
    pipeline,
    consumerMode: oneOf(env, 'CONSUMER_MODE', CONSUMER_MODES, 'ecs'),
    producerTasks,
    consumerTasks,
    producerEndpoint: producerEndpoint(env, pipeline.regions[0] as string),
    ...(alarmTopicArns === undefined ? {} : { alarmTopicArns }),
    logLevel: stringWithDefault(env, 'LOG_LEVEL', 'info'),
  });
}
