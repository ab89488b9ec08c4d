import { resolve } from 'node:path';
import {
  boolean,
  deepFreeze,
  type Env,
  hasOwnAwsCredentials,
  integer,
  loadPipelineSettings,
  optionalString,
  type PipelineSettings,
  stringWithDefault,
} from '@records/pipeline-config';

export interface StackConfig {
  readonly pipeline: PipelineSettings;
  /** Folder for the stack's own state: stack.json, local keys, emulator data. */
  readonly stateDirectory: string;
  readonly stackFile: string;
  /** 0 picks a free port. */
  readonly producerPort: number;
  /** The producer's /metrics, apart from its ingest port; 0 picks a free port. */
  readonly producerMetricsPort: number;
  /** Producer processes; the first listens on PRODUCER_PORT, the others on free ports (stack.json lists them). */
  readonly producers: number;
  /** The first consumer listens here, each next one (region by region) on the port after; 0 picks free ports. */
  readonly consumerBasePort: number;
  readonly shardCount: number;
  /** Consumer processes per region; they share the region's shards by lease. */
  readonly consumersPerRegion: number;
  readonly persist: boolean;
  /** True when the environment names AWS credentials; otherwise the emulators' placeholders are used. */
  readonly usesOwnCredentials: boolean;
  /** The environment the services inherit, the user's own variables included. */
  readonly environment: Env;
  /** Endpoints the user already set: those services are not emulated. */
  readonly external: { readonly kinesis?: string; readonly dynamodb?: string; readonly kms?: string };
}

export function loadStackConfig(env: Env, cwd: string): StackConfig {
  const stateDirectory = resolve(cwd, stringWithDefault(env, 'STACK_DIR', '.local'));
  const shared = optionalString(env, 'AWS_ENDPOINT_URL');
  const external = (name: string) => optionalString(env, `AWS_ENDPOINT_URL_${name}`) ?? shared;
  const kinesis = external('KINESIS');
  const dynamodb = external('DYNAMODB');
  const kms = external('KMS');
  return deepFreeze({
    pipeline: loadPipelineSettings(env, { cacheMaxAgeSeconds: 300, refreshAhead: true }),
    stateDirectory,
    stackFile: resolve(stateDirectory, 'stack.json'),
    producerPort: integer(env, 'PRODUCER_PORT', 3000, { min: 0, max: 65535 }),
    producerMetricsPort: integer(env, 'PRODUCER_METRICS_PORT', 9464, { min: 0, max: 65535 }),
    producers: integer(env, 'PRODUCERS', 1, { min: 1, max: 8 }),
    consumerBasePort: integer(env, 'CONSUMER_BASE_PORT', 3001, { min: 0, max: 65535 }),
    shardCount: integer(env, 'SHARD_COUNT', 2, { min: 1, max: 64 }),
    consumersPerRegion: integer(env, 'CONSUMERS_PER_REGION', 1, { min: 1, max: 16 }),
    persist: boolean(env, 'STACK_PERSIST', false),
    usesOwnCredentials: hasOwnAwsCredentials(env),
    environment: { ...env },
    external: {
      ...(kinesis === undefined ? {} : { kinesis }),
      ...(dynamodb === undefined ? {} : { dynamodb }),
      ...(kms === undefined ? {} : { kms }),
    },
  });
}
