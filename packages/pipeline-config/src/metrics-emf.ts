import { type Env, integer, oneOf, optionalString, stringWithDefault } from './env.js';

/** Whether and how a process prints its metrics in CloudWatch's embedded metric format (EMF). */
export interface EmfSettings {
  readonly enabled: boolean;
  /** The CloudWatch namespace: POWERTOOLS_METRICS_NAMESPACE, as Powertools for AWS Lambda reads it. */
  readonly namespace: string;
  /** A long-running service publishes this often; the Lambda handler publishes per invocation. */
  readonly intervalMs: number;
}

export const DEFAULT_METRICS_NAMESPACE = 'RecordsPipeline';

/**
 * METRICS_EMF is `on` or `off`. Left unset, it is on wherever POWERTOOLS_METRICS_NAMESPACE is set
 * (the deployed stacks set it) or `defaultOn` says so (the Lambda handler), and off otherwise
 * (`pnpm start`, where Prometheus scrapes).
 */
export function loadEmfSettings(env: Env, defaults: { defaultOn?: boolean } = {}): EmfSettings {
  const namespaceSet = optionalString(env, 'POWERTOOLS_METRICS_NAMESPACE') !== undefined;
  const fallback = namespaceSet || defaults.defaultOn === true ? 'on' : 'off';
  return {
    enabled: oneOf(env, 'METRICS_EMF', ['on', 'off'] as const, fallback) === 'on',
    namespace: stringWithDefault(env, 'POWERTOOLS_METRICS_NAMESPACE', DEFAULT_METRICS_NAMESPACE),
    intervalMs: integer(env, 'METRICS_EMF_INTERVAL_MS', 60_000, { min: 1_000, max: 3_600_000 }),
  };
}
