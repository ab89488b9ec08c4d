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
  /**
   * Largest record body accepted, in bytes. Kinesis takes 1 MiB per record and DynamoDB 400 KB per
   * item, but an item can take about 1.5 times the JSON size (arrays of small numbers, for one), so
   * the cap is 256 KiB: a record the producer acknowledges must still fit the table.
   */
  readonly maxRecordBytes: number;
  /** `/metrics` (and `/healthz`) listen here, on HOST, apart from the ingest port; 0 picks a free port. */
  readonly metricsPort: number;
}

export function loadProducerConfig(env: Env): ProducerConfig {
  return deepFreeze({
    pipeline: loadPipelineSettings(env, { cacheMaxAgeSeconds: 300, refreshAhead: true }),
    ...loadServiceSettings(env, { port: 3000 }),
    maxRecordBytes: integer(env, 'MAX_RECORD_BYTES', 256 * 1024, { min: 16, max: 256 * 1024 }),
    metricsPort: integer(env, 'METRICS_PORT', 9464, { min: 0, max: 65535 }),
  });
}
