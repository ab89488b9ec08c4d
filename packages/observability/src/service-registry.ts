import { collectDefaultMetrics, Registry } from 'prom-client';

// prom-client names these gauges `*_total`, a suffix Prometheus keeps for counters; promtool's
// linter rejects them. The process keeps its other default metrics.
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * The one registry of a service process, with prom-client's default process and Node.js metrics.
 * Never the global registry: everything that records a metric is handed this one.
 */
export function createServiceRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}
