import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricUnit } from '@aws-lambda-powertools/metrics/types';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

export type EmfUnit = MetricUnit;

/** One CloudWatch metric, read from a metric of the service's Prometheus registry. */
export interface EmfSeries {
  /** The CloudWatch metric name: part of the interface the alarms rely on. */
  readonly name: string;
  /** The registry's metric it is read from. */
  readonly from: string;
  readonly unit: EmfUnit;
  /**
   * `max` and `sum` read a gauge's series as they are now (0 when it has none); `delta` reads how
   * much a counter's series grew since the last read (the whole count at the first).
   */
  readonly read: 'max' | 'sum' | 'delta';
  /** Only the series with these labels count. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface EmfValue {
  readonly name: string;
  readonly unit: EmfUnit;
  readonly value: number;
}

/** Reads the series' values from the registry, keeping each counter's last total for its delta. */
export class RegistryEmfReader {
  readonly #registry: Registry;
  readonly #series: readonly EmfSeries[];
  readonly #lastTotals = new Map<string, number>();

  constructor(registry: Registry, series: readonly EmfSeries[]) {
    this.#registry = registry;
    this.#series = series;
  }

  async read(): Promise<EmfValue[]> {
    const values: EmfValue[] = [];
    for (const series of this.#series) {
      const metric = this.#registry.getSingleMetric(series.from);
      // A metric this process never registered (a part it does not run) is left out, not sent as 0.
      if (metric === undefined) continue;
      const wanted = Object.entries(series.labels ?? {});
      const numbers = (await metric.get()).values
        .filter((value) => wanted.every(([label, expected]) => String(value.labels[label]) === expected))
        .map((value) => value.value);
      values.push({ name: series.name, unit: series.unit, value: this.#valueOf(series, numbers) });
    }
    return values;
  }

  #valueOf(series: EmfSeries, numbers: readonly number[]): number {
    if (series.read === 'max') return numbers.length === 0 ? 0 : Math.max(...numbers);
    const total = numbers.reduce((sum, value) => sum + value, 0);
    if (series.read === 'sum') return total;
    const last = this.#lastTotals.get(series.name) ?? 0;
    this.#lastTotals.set(series.name, total);
    // A counter never shrinks within a process; should one be reset, its whole count is new.
    return total >= last ? total - last : total;
  }
}

/**
 * The process's one Powertools Metrics: it prints each publish as one EMF JSON line on stdout,
 * with the namespace and the `service` dimension on every line.
 */
export function createEmfMetrics(options: { namespace: string; service: string }): Metrics {
  return new Metrics({ namespace: options.namespace, serviceName: options.service });
}

/** Prints `values` as one EMF line, with `dimensions` beside `service`. */
export function publishEmf(
  metrics: Metrics,
  dimensions: Readonly<Record<string, string>>,
  values: readonly EmfValue[],
): void {
  if (values.length === 0) return;
  metrics.addDimensions({ ...dimensions });
  for (const { name, unit, value } of values) metrics.addMetric(name, unit, value);
  metrics.publishStoredMetrics();
}

export interface EmfPublisherOptions {
  readonly registry: Registry;
  readonly series: readonly EmfSeries[];
  readonly metrics: Metrics;
  /** Beside `service` on every line, e.g. `{ stream }`. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly intervalMs: number;
  readonly logger: Pick<Logger, 'warn'>;
}

export interface EmfPublisher {
  start(): void;
  /** Publishes what was counted since the last line, and stops. */
  stop(): Promise<void>;
}

/**
 * For a long-running service (ECS): every `intervalMs`, the registry's series as one EMF line on
 * stdout, which the awslogs driver sends to CloudWatch Logs and CloudWatch turns into metrics.
 */
export function createEmfPublisher(options: EmfPublisherOptions): EmfPublisher {
  const reader = new RegistryEmfReader(options.registry, options.series);
  let timer: NodeJS.Timeout | undefined;
  let publishing: Promise<void> = Promise.resolve();
  const publish = () => {
    publishing = publishing
      .then(async () => publishEmf(options.metrics, options.dimensions, await reader.read()))
      .catch((error: unknown) => options.logger.warn({ err: error }, 'metrics not published in EMF'));
    return publishing;
  };
  return {
    start() {
      timer ??= setInterval(publish, options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      await publish();
    },
  };
}
