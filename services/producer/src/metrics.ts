import { Counter, type Registry } from 'prom-client';

export interface ProducerMetrics {
  readonly records: Counter<'outcome'>;
  readonly kinesisPuts: Counter<'region' | 'outcome'>;
}

export function createProducerMetrics(registry: Registry): ProducerMetrics {
  return {
    records: new Counter({
      name: 'producer_records_total',
      help: 'Records posted, by outcome: accepted (201), invalid (4xx) or failed (5xx).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    kinesisPuts: new Counter({
      name: 'producer_kinesis_put_total',
      help: 'Records put to a region stream, by region and outcome.',
      labelNames: ['region', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
