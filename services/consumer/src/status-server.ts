import { buildStatusApp } from '@records/observability';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface ConsumerStatusDeps {
  readonly registry: Registry;
  readonly isReady: () => boolean;
  /** Shards stalled on a failing batch: the consumer answers /readyz with 503 STALLED meanwhile. */
  readonly stalledShards?: () => readonly string[];
  readonly logger?: FastifyBaseLogger;
}

/** The consumer's only HTTP surface: `/healthz`, `/readyz` and `/metrics`, on the producer's own status routes. */
export function buildConsumerStatusApp(deps: ConsumerStatusDeps): Promise<FastifyInstance> {
  return buildStatusApp({
    registry: deps.registry,
    metrics: {},
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    readiness: () => {
      if (!deps.isReady()) return { code: 'NOT_READY', message: 'the consumer is not reading its shards yet' };
      const stalled = deps.stalledShards?.() ?? [];
      if (stalled.length === 0) return undefined;
      return {
        code: 'STALLED',
        message: `retrying a batch on ${stalled.join(', ')}: KMS or DynamoDB is failing`,
        shards: stalled,
      };
    },
  });
}
