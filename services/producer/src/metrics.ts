import { Counter, Gauge, type Registry } from 'prom-client';

export interface ProducerMetrics {
  readonly records: Counter<'outcome'>;
  readonly kinesisPuts: Counter<'region' | 'outcome'>;
  readonly inFlightRecords: Gauge;
  readonly inFlightBytes: Gauge;
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
    inFlightRecords: new Gauge({
      name: 'producer_in_flight_records',
      help: 'Records being ingested now; at MAX_IN_FLIGHT_RECORDS new ones get 503 OVERLOADED.',
      registers: [registry],
    }),
    inFlightBytes: new Gauge({
      name: 'producer_in_flight_bytes',
      help: 'Body bytes of the records being ingested now; at MAX_IN_FLIGHT_BYTES new ones get 503 OVERLOADED.',
      registers: [registry],
    }),
  };
}
