import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProducerErrors } from '../errors.js';
import type { ProducerMetrics } from '../metrics.js';

export interface AdmissionOptions {
  /** Records (requests to POST /records) being worked on at once. */
  readonly maxInFlightRecords: number;
  /** Bytes of their bodies, counted from Content-Length before a byte is read (bodyLimit when unknown). */
  readonly maxInFlightBytes: number;
  readonly bodyLimit: number;
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
      if (request.method !== 'POST' || request.routeOptions.url !== '/records') return;
      const declared = Number(request.headers['content-length']);
      const size =
        Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, options.bodyLimit) : options.bodyLimit;
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
