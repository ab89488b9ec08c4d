import { statusRoutes } from '@records/observability';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';

interface ObservabilityOptions {
  readonly registry: Registry;
  /** True once the service can do its work, false again while it stops. */
  readonly isReady: () => boolean;
  /** True while the clock is proven outside MAX_CLOCK_SKEW_MS: not ready, with code CLOCK_SKEWED. */
  readonly isClockSkewed?: () => boolean;
}

/**
 * `/healthz`, `/readyz` and the request duration histogram on the ingest port, from the status
 * routes the consumer serves too. `/metrics` has a port of its own (METRICS_PORT), so the ingest
 * port can be exposed without it.
 */
export default fp<ObservabilityOptions>(
  async (app: FastifyInstance, { registry, isReady, isClockSkewed }) => {
    await app.register(statusRoutes, {
      registry,
      requestDuration: true,
      readiness: () => {
        if (!isReady()) return { code: 'NOT_READY', message: 'the service is not ready' };
        if (isClockSkewed?.() === true) {
          return {
            code: 'CLOCK_SKEWED',
            message: "the clock is further from the streams' than MAX_CLOCK_SKEW_MS allows",
          };
        }
        return undefined;
      },
    });
  },
  { name: 'observability' },
);
