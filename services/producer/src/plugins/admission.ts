import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProducerErrors } from '../errors.js';
import type { ProducerMetrics } from '../metrics.js';

export interface AdmissionOptions {
  /** Requests to the admitted routes being worked on at once (a batch counts once). */
  readonly maxInFlightRecords: number;
  /** Bytes of their bodies, counted from Content-Length before a byte is read (bodyLimit when unknown). */
  readonly maxInFlightBytes: number;
  /** The routes admitted this way, each with the most bytes one request may hold. */
  readonly routes: Readonly<Record<string, number>>;
  readonly metrics: Pick<ProducerMetrics, 'inFlightRecords' | 'inFlightBytes'>;
}

/**
 * Admission control: past either bound a new record is answered at once with 503 OVERLOADED and
 * Retry-After, before its body is read, so overload costs neither a long wait nor memory. A slot is
 * given back when its response is done or its connection closes, whichever comes first.
 */
export default fp<AdmissionOptions>(
  async (app: FastifyInstance, options) => {
    let records = 0;
    let bytes = 0;
    app.addHook('onRequest', async (request, reply) => {
      const limit = options.routes[request.routeOptions.url ?? ''];
      if (request.method !== 'POST' || limit === undefined) return;
      const declared = Number(request.headers['content-length']);
      const size = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, limit) : limit;
      if (records + 1 > options.maxInFlightRecords || bytes + size > options.maxInFlightBytes) {
        throw new ProducerErrors.OVERLOADED();
      }
      records++;
      bytes += size;
      options.metrics.inFlightRecords.set(records);
      options.metrics.inFlightBytes.set(bytes);
      reply.raw.once('close', () => {
        records--;
        bytes -= size;
        options.metrics.inFlightRecords.set(records);
        options.metrics.inFlightBytes.set(bytes);
      });
    });
  },
  { name: 'admission' },
);
