import { Counter, Gauge, type Registry } from 'prom-client';

export interface ConsumerMetrics {
  readonly read: Counter<'region'>;
  readonly written: Counter<'region'>;
  readonly deadLettered: Counter<'region' | 'reason'>;
  readonly millisBehindLatest: Gauge<'region' | 'shard_id'>;
  readonly batchRetries: Counter<'region' | 'shard_id'>;
  readonly decrypted: Counter<'region' | 'algorithm_suite'>;
  readonly stalledShards: Gauge<'region'>;
}

export function createConsumerMetrics(registry: Registry): ConsumerMetrics {
  return {
    read: new Counter({
      name: 'consumer_records_read_total',
      help: 'Records read from the region stream.',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    written: new Counter({
      name: 'consumer_records_written_total',
      help: 'Records written to the region table.',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'consumer_records_dead_lettered_total',
      help: 'Records put to the dead-letter table instead, by reason.',
      labelNames: ['region', 'reason'] as const,
      registers: [registry],
    }),
    millisBehindLatest: new Gauge({
      name: 'consumer_millis_behind_latest',
      help: 'How far the shard reader is behind the tip of its shard, as GetRecords reports it.',
      labelNames: ['region', 'shard_id'] as const,
      registers: [registry],
    }),
    batchRetries: new Counter({
      name: 'consumer_batch_retries_total',
      help: 'Batches retried because KMS or DynamoDB was unavailable.',
      labelNames: ['region', 'shard_id'] as const,
      registers: [registry],
    }),
    stalledShards: new Gauge({
      name: 'consumer_stalled_shards',
      help: 'Shards waiting to retry a batch that failed for a reason outside its records (KMS or DynamoDB unavailable).',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    decrypted: new Counter({
      name: 'consumer_messages_decrypted_total',
      help: 'Messages decrypted, by algorithm suite: legacy suites show producers still on the old SDK.',
      labelNames: ['region', 'algorithm_suite'] as const,
      registers: [registry],
    }),
  };
}
