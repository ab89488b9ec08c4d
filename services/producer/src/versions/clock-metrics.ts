import { Counter, Gauge, type Registry } from 'prom-client';

export interface ClockMetrics {
  readonly offset: Gauge;
  readonly skewed: Gauge;
  readonly checks: Counter<'outcome'>;
}

export function createClockMetrics(registry: Registry): ClockMetrics {
  return {
    offset: new Gauge({
      name: 'producer_clock_offset_seconds',
      help: "The streams' clock minus this producer's, as last measured (the middle of the measured interval).",
      registers: [registry],
    }),
    skewed: new Gauge({
      name: 'producer_clock_skewed',
      help: '1 while this producer is proven further than MAX_CLOCK_SKEW_MS / 2 from the streams, and answers CLOCK_SKEWED.',
      registers: [registry],
    }),
    checks: new Counter({
      name: 'producer_clock_checks_total',
      help: 'Clock checks against a region stream, by outcome: within, skewed, uncertain (interval too wide) or failed.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}
