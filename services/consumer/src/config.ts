import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AwsService, AwsServiceSettings } from '@records/aws-clients';
import {
  ConfigError,
  deepFreeze,
  type EmfSettings,
  type Env,
  integer,
  loadEmfSettings,
  loadPipelineSettings,
  loadServiceSettings,
  oneOf,
  type PipelineSettings,
  requiredString,
  type ServiceSettings,
} from '@records/pipeline-config';

export interface ConsumerConfig extends ServiceSettings {
  readonly pipeline: PipelineSettings;
  /** The region this consumer reads, decrypts and writes in; one of REGIONS. */
  readonly region: string;
  /** Wait between GetRecords calls on a shard that is caught up. */
  readonly idlePollMs: number;
  readonly getRecordsLimit: number;
  readonly shardDiscoveryIntervalMs: number;
  /** Records of one batch decrypted at once. */
  readonly decryptConcurrency: number;
  /** Whether messages without key commitment (from producers on the old SDK) are still read. */
  readonly decryptCommitmentPolicy: DecryptCommitmentPolicy;
  /** A lease its owner has not renewed for this long is taken over by another consumer. */
  readonly leaseDurationMs: number;
  /** This consumer's name in the lease table: unique among the region's consumers. */
  readonly workerId: string;
  /** A batch not done within this long counts as stalled (readiness, logs), as an AWS request's bound. */
  readonly batchStallMs: number;
  /** Metrics printed for CloudWatch (embedded metric format) beside the Prometheus endpoint. */
  readonly emf: EmfSettings;
}

export interface LambdaConfig extends ConsumerConfig {
  /** Records processed at once; after a failure, Lambda retries from the first record of its chunk. */
  readonly lambdaChunkSize: number;
  /** Time left unused at the end of an invocation: what is not done by then is reported for retry. */
  readonly lambdaReserveMs: number;
  /** How long an invocation waits out KMS or DynamoDB being unavailable before it reports the rest for retry. */
  readonly lambdaOutageWaitMs: number;
}

/** The Lambda handler's configuration: the consumer's, in the function's own region (AWS_REGION). */
export function loadLambdaConfig(env: Env): LambdaConfig {
  return deepFreeze({
    ...loadConsumerConfig({ ...env, REGION: env.REGION ?? env.AWS_REGION }),
    // A function has no Prometheus to scrape it: EMF is its only metrics, on unless turned off.
    emf: loadEmfSettings(env, { defaultOn: true }),
    lambdaChunkSize: integer(env, 'LAMBDA_CHUNK_SIZE', 25, { min: 1, max: 10_000 }),
    lambdaReserveMs: integer(env, 'LAMBDA_RESERVE_MS', 5_000, { min: 0 }),
    lambdaOutageWaitMs: integer(env, 'LAMBDA_OUTAGE_WAIT_MS', 60_000, { min: 0, max: 900_000 }),
  });
}

const DECRYPT_COMMITMENT_POLICIES = ['require-encrypt-require-decrypt', 'require-encrypt-allow-decrypt'] as const;
type DecryptCommitmentPolicy = (typeof DECRYPT_COMMITMENT_POLICIES)[number];

export function loadConsumerConfig(env: Env): ConsumerConfig {
  const pipeline = loadPipelineSettings(env, { cacheMaxAgeSeconds: 600, refreshAhead: false });
  const region = requiredString(env, 'REGION');
  if (!pipeline.regions.includes(region)) {
    throw new ConfigError('REGION', `must be one of REGIONS (${pipeline.regions.join(', ')}), got "${region}"`);
  }
  return deepFreeze({
    pipeline,
    region,
    ...loadServiceSettings(env, { port: 3001 }),
    idlePollMs: integer(env, 'IDLE_POLL_MS', 250, { min: 200, max: 60_000 }),
    getRecordsLimit: integer(env, 'GET_RECORDS_LIMIT', 1000, { min: 1, max: 10_000 }),
    shardDiscoveryIntervalMs: integer(env, 'SHARD_DISCOVERY_INTERVAL_MS', 30_000, { min: 1000 }),
    decryptConcurrency: integer(env, 'DECRYPT_CONCURRENCY', 16, { min: 1, max: 256 }),
    leaseDurationMs: integer(env, 'LEASE_DURATION_MS', 10_000, { min: 500, max: 300_000 }),
    batchStallMs: integer(env, 'BATCH_STALL_MS', 10_000, { min: 100 }),
    emf: loadEmfSettings(env),
    workerId: env.WORKER_ID?.trim() || `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    decryptCommitmentPolicy: oneOf(
      env,
      'DECRYPT_COMMITMENT_POLICY',
      DECRYPT_COMMITMENT_POLICIES,
      'require-encrypt-require-decrypt',
    ),
  });
}

/**
 * The consumer retries every Kinesis and DynamoDB call itself (ShardReader, the lease round,
 * TableWriter, DeadLetterStore), so the SDK makes one attempt of each (see AwsServiceSettings).
 */
export const CONSUMER_AWS_SERVICES: Partial<Record<AwsService, AwsServiceSettings>> = Object.freeze({
  kinesis: Object.freeze({ maxAttempts: 1 }),
  dynamodb: Object.freeze({ maxAttempts: 1 }),
});
