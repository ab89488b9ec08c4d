import type { Server } from 'node:http';
import { createStatusServer, listen } from '@records/observability';
import type { Registry } from 'prom-client';

export { listen };

export interface ConsumerStatusDeps {
  readonly registry: Registry;
  readonly isReady: () => boolean;
  /** Shards stalled on a failing batch: the consumer answers /readyz with 503 STALLED meanwhile. */
  readonly stalledShards?: () => readonly string[];
}

/** The consumer's only HTTP surface: `/healthz`, `/readyz` and `/metrics`. */
export function createConsumerStatusServer(deps: ConsumerStatusDeps): Server {
  return createStatusServer({
    registry: deps.registry,
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
