import {
  deepFreeze,
  type Env,
  integer,
  loadPipelineSettings,
  loadServiceSettings,
  type PipelineSettings,
  type ServiceSettings,
} from '@records/pipeline-config';

export interface ProducerConfig extends ServiceSettings {
  readonly pipeline: PipelineSettings;
  /** Largest record body accepted, in bytes. Kinesis takes 1 MiB per record and DynamoDB 400 KB per item. */
  readonly maxRecordBytes: number;
}

export function loadProducerConfig(env: Env): ProducerConfig {
  return deepFreeze({
    pipeline: loadPipelineSettings(env, { cacheMaxAgeSeconds: 300, refreshAhead: true }),
    ...loadServiceSettings(env, { port: 3000 }),
    maxRecordBytes: integer(env, 'MAX_RECORD_BYTES', 256 * 1024, { min: 16, max: 350 * 1024 }),
  });
}
