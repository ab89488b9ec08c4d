import {
  deepFreeze,
  type Env,
  integer,
  loadPipelineSettings,
  oneOf,
  type PipelineSettings,
  stringWithDefault,
} from '@records/pipeline-config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ProducerConfig {
  readonly pipeline: PipelineSettings;
  readonly host: string;
  readonly port: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Largest record body accepted, in bytes. Kinesis takes 1 MiB per record and DynamoDB 400 KB per item. */
  readonly maxRecordBytes: number;
  /** How long in-flight requests get to finish after SIGTERM. */
  readonly shutdownGraceMs: number;
}

export function loadProducerConfig(env: Env): ProducerConfig {
  return deepFreeze({
    pipeline: loadPipelineSettings(env, { cacheMaxAgeSeconds: 300, refreshAhead: true }),
    host: stringWithDefault(env, 'HOST', '127.0.0.1'),
    port: integer(env, 'PORT', 3000, { min: 0, max: 65535 }),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    maxRecordBytes: integer(env, 'MAX_RECORD_BYTES', 256 * 1024, { min: 16, max: 350 * 1024 }),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, { min: 0 }),
  });
}
