import { type Env, integer, oneOf } from './env.js';
import { LOG_LEVELS, type LogLevel } from './service.js';
import { deepFreeze, loadPipelineSettings, type PipelineSettings } from './settings.js';

/** What the provisioning program needs: the pipeline's names and keys, and how many shards a new stream gets. */
export interface ProvisioningSettings {
  readonly pipeline: PipelineSettings;
  /** Shards of a stream it creates; an existing stream is left as it is. */
  readonly shardCount: number;
  readonly logLevel: LogLevel;
}

export function loadProvisioningSettings(env: Env): ProvisioningSettings {
  return deepFreeze({
    pipeline: loadPipelineSettings(env, { cacheMaxAgeSeconds: 300, refreshAhead: false }),
    shardCount: integer(env, 'SHARD_COUNT', 2, { min: 1, max: 64 }),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
  });
}

/** True when the environment names credentials of its own, rather than leaving them to a default. */
export function hasOwnAwsCredentials(env: Env): boolean {
  return env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_PROFILE !== undefined;
}
