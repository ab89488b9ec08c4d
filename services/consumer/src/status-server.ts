import { buildStatusApp } from '@records/observability';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface ConsumerStatusDeps {
  readonly registry: Registry;
  readonly isReady: () => boolean;
  /** Shards stalled on a failing batch: the consumer answers /readyz with 503 STALLED meanwhile. */
  readonly stalledShards?: () => readonly string[];
  /** Shards this consumer reads now. */
  readonly heldShards?: () => readonly string[];
  /** Readable shards no live consumer reads: a consumer holding none is not ready while there are any. */
  readonly unownedShards?: () => readonly string[];
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
      const unowned = deps.unownedShards?.() ?? [];
      if ((deps.heldShards?.() ?? []).length === 0 && unowned.length > 0) {
        return {
          code: 'NOT_READY',
          message: `the consumer holds no lease while ${unowned.join(', ')} ha${unowned.length === 1 ? 's' : 've'} no live owner`,
          shards: [...unowned],
        };
      }
      const stalled = deps.stalledShards?.() ?? [];
      if (stalled.length === 0) return undefined;
      return {
        code: 'STALLED',
        message: `a batch on ${stalled.join(', ')} keeps failing or is overdue: KMS or DynamoDB is failing or silent`,
        shards: stalled,
      };
    },
  });
}
