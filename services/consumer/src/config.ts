import {
  ConfigError,
  deepFreeze,
  type Env,
  integer,
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
}

export const DECRYPT_COMMITMENT_POLICIES = [
  'require-encrypt-require-decrypt',
  'require-encrypt-allow-decrypt',
] as const;
export type DecryptCommitmentPolicy = (typeof DECRYPT_COMMITMENT_POLICIES)[number];

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
    idlePollMs: integer(env, 'IDLE_POLL_MS', 1000, { min: 200, max: 60_000 }),
    getRecordsLimit: integer(env, 'GET_RECORDS_LIMIT', 1000, { min: 1, max: 10_000 }),
    shardDiscoveryIntervalMs: integer(env, 'SHARD_DISCOVERY_INTERVAL_MS', 30_000, { min: 1000 }),
    decryptConcurrency: integer(env, 'DECRYPT_CONCURRENCY', 16, { min: 1, max: 256 }),
    decryptCommitmentPolicy: oneOf(
      env,
      'DECRYPT_COMMITMENT_POLICY',
      DECRYPT_COMMITMENT_POLICIES,
      'require-encrypt-require-decrypt',
    ),
  });
}
