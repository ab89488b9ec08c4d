import type { EmfSeries } from '@records/observability';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The producer's metrics in CloudWatch (embedded metric format): the alarms rely on this name. */
export const PRODUCER_EMF_SERIES: readonly EmfSeries[] = Object.freeze([
  {
    name: 'producer_handoff_oldest_pending_age_seconds',
    from: 'producer_handoff_oldest_pending_age_seconds',
    unit: 'Seconds',
    read: 'max',
  },
] as const);

export interface ProducerMetrics {
  readonly records: Counter<'outcome'>;
  readonly kinesisPuts: Counter<'region' | 'outcome'>;
  readonly inFlightRecords: Gauge;
  readonly inFlightBytes: Gauge;
  readonly handoffWrites: Counter<'target_region' | 'outcome'>;
  readonly handoffDelivered: Counter<'target_region'>;
}

/** What the hand-off gauges read when scraped. */
export interface HandoffState {
  readonly regions: readonly string[];
  pending(target: string): { entries: number; bytes: number; oldestCreatedAt: number | undefined };
  isOpen(region: string): boolean;
  /** Wall-clock ms. */
  now(): number;
}

/** Per target region: the backlog, its oldest entry's age (the region's recovery point), and its breaker. */
export function registerHandoffGauges(registry: Registry, state: HandoffState): void {
  const perTarget = (name: string, help: string, read: (target: string) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['target_region'] as const,
      registers: [registry],
      collect() {
        for (const target of state.regions) this.set({ target_region: target }, read(target));
      },
    });
  perTarget(
    'producer_handoff_pending_entries',
    'Hand-off entries waiting for the target region, as the tables were last counted plus this process since.',
    (target) => state.pending(target).entries,
  );
  perTarget(
    'producer_handoff_pending_bytes',
    'Ciphertext bytes of the hand-off entries waiting for the target region.',
    (target) => state.pending(target).bytes,
  );
  perTarget(
    'producer_handoff_oldest_pending_age_seconds',
    'Age of the oldest hand-off entry waiting for the target region (its recovery point); 0 when none waits.',
    (target) => {
      const oldest = state.pending(target).oldestCreatedAt;
      return oldest === undefined ? 0 : Math.max(0, state.now() - oldest) / 1000;
    },
  );
  new Gauge({
    name: 'producer_region_breaker_open',
    help: "1 while the region stream's circuit breaker is open (records go to hand-off without a put), else 0.",
    labelNames: ['target_region'] as const,
    registers: [registry],
    collect() {
      for (const region of state.regions) this.set({ target_region: region }, state.isOpen(region) ? 1 : 0);
    },
  });
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
    handoffWrites: new Counter({
      name: 'producer_handoff_written_total',
      help: 'Hand-off entries written for a target region whose stream did not take a record, by outcome.',
      labelNames: ['target_region', 'outcome'] as const,
      registers: [registry],
    }),
    handoffDelivered: new Counter({
      name: 'producer_handoff_delivered_total',
      help: "Hand-off entries delivered to the target region's stream and removed.",
      labelNames: ['target_region'] as const,
      registers: [registry],
    }),
  };
}
