import type { EmfSeries } from '@records/observability';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The consumer's metrics in CloudWatch (embedded metric format), read from the registry below: the
 * alarms rely on these names, units and meanings. Counts are what was counted since the last line.
 */
export const CONSUMER_EMF_SERIES: readonly EmfSeries[] = Object.freeze([
  { name: 'consumer_millis_behind_latest', from: 'consumer_millis_behind_latest', unit: 'Milliseconds', read: 'max' },
  { name: 'consumer_stalled_shards', from: 'consumer_stalled_shards', unit: 'Count', read: 'sum' },
  { name: 'consumer_records_written', from: 'consumer_records_written_total', unit: 'Count', read: 'delta' },
  {
    name: 'consumer_records_dead_lettered',
    from: 'consumer_records_dead_lettered_total',
    unit: 'Count',
    read: 'delta',
  },
  { name: 'consumer_stale_writes_skipped', from: 'consumer_stale_writes_skipped_total', unit: 'Count', read: 'delta' },
  {
    name: 'consumer_trimmed_leases_read_short',
    from: 'consumer_trimmed_leases_removed_total',
    unit: 'Count',
    read: 'delta',
    labels: { read_to_end: 'false' },
  },
] as const);

/** What one Lambda invocation counts; its lag comes from the event itself. */
export const LAMBDA_EMF_SERIES: readonly EmfSeries[] = CONSUMER_EMF_SERIES.filter((series) =>
  ['consumer_records_written', 'consumer_records_dead_lettered', 'consumer_stale_writes_skipped'].includes(series.name),
);

export interface ConsumerMetrics {
  readonly read: Counter<'region'>;
  readonly written: Counter<'region'>;
  readonly deadLettered: Counter<'region' | 'reason'>;
  /** Per shard read here, how far behind its tip it is now (read by the lag gauge at each scrape). */
  readonly shardLag: Map<string, () => number>;
  readonly leasesHeld: Gauge<'region'>;
  readonly leaseTakeovers: Counter<'region' | 'from'>;
  readonly staleWritesSkipped: Counter<'region'>;
  readonly trimmedLeasesRemoved: Counter<'region' | 'read_to_end'>;
  readonly staleStreamLeasesRemoved: Counter<'region'>;
  readonly renewalsGivenUp: Counter<'region'>;
  readonly ingestToStore: Histogram<'region'>;
  readonly millisBehindLatest: Gauge<'region' | 'shard_id'>;
  readonly batchRetries: Counter<'region' | 'shard_id'>;
  readonly decrypted: Counter<'region' | 'algorithm_suite'>;
  readonly stalledShards: Gauge<'region'>;
}

export function createConsumerMetrics(registry: Registry, region: string): ConsumerMetrics {
  const shardLag = new Map<string, () => number>();
  return {
    shardLag,
    leasesHeld: new Gauge({
      name: 'consumer_leases_held',
      help: 'Shard leases this consumer holds.',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    leaseTakeovers: new Counter({
      name: 'consumer_lease_takeovers_total',
      help: 'Leases taken by this consumer, by whom they were taken from: free (released or new), expired (its owner stopped renewing), stolen (handed over on request, to balance).',
      labelNames: ['region', 'from'] as const,
      registers: [registry],
    }),
    trimmedLeasesRemoved: new Counter({
      name: 'consumer_trimmed_leases_removed_total',
      help: 'Lease rows of shards trimmed from the stream that this consumer removed; read_to_end="false" means records were trimmed before anyone read them.',
      labelNames: ['region', 'read_to_end'] as const,
      registers: [registry],
    }),
    staleStreamLeasesRemoved: new Counter({
      name: 'consumer_stale_stream_leases_removed_total',
      help: 'Lease rows of an earlier stream of the same name (another ARN or creation time) that this consumer removed.',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    renewalsGivenUp: new Counter({
      name: 'consumer_leases_given_up_total',
      help: 'Leases this consumer stopped reading because its renewals had not landed for a lease duration.',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    staleWritesSkipped: new Counter({
      name: 'consumer_stale_writes_skipped_total',
      help: 'Item writes skipped as older: the table holds the same or a later version of that id (or, for unversioned records, a later record).',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    ingestToStore: new Histogram({
      name: 'consumer_ingest_to_store_seconds',
      help: "From the record reaching the stream (its ApproximateArrivalTimestamp) to the end of its batch write, by this consumer's clock: written, skipped as stale or rejected alike.",
      labelNames: ['region'] as const,
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
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
      help: 'How far each shard read here is behind its tip: MillisBehindLatest at the last read, plus the time since while a batch is unfinished or reads fail.',
      labelNames: ['region', 'shard_id'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [shardId, lag] of shardLag) this.set({ region, shard_id: shardId }, lag());
      },
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
