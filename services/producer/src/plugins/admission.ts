import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import { ProducerErrors } from '../errors.js';
import type { ProducerMetrics } from '../metrics.js';

/** An admitted route: the most bytes one request may hold, and how many records its body carries. */
interface AdmittedRoute {
  readonly maxBytes: number;
  /** Records in the parsed body (a batch's lines); one when not given. */
  readonly records?: (body: unknown) => number;
}

interface AdmissionOptions {
  /** Records being worked on at once: a request counts one until its body is read, a batch then its lines. */
  readonly maxInFlightRecords: number;
  /** Bytes of their bodies, counted from Content-Length before a byte is read (the route's most when unknown). */
  readonly maxInFlightBytes: number;
  /** The routes admitted this way, by URL. */
  readonly routes: Readonly<Record<string, AdmittedRoute>>;
  readonly metrics: Pick<ProducerMetrics, 'inFlightRecords' | 'inFlightBytes'>;
}

/** What one admitted request holds, until it is given back once. */
interface Slot {
  records: number;
  readonly bytes: number;
  handling: boolean;
  released: boolean;
}

/**
 * Admission control: past either bound a new record is answered at once with 503 OVERLOADED and
 * Retry-After, before its body is read, so overload costs neither a long wait nor memory. A slot is
 * held until the handler settles, however the client behaves: a client that resets its connection
 * does not free the slot while its record is still being encrypted and put. A request that never
 * reaches its handler (a body refused, a connection closed mid-upload) gives its slot back when it
 * is answered or closed.
 */
export default fp<AdmissionOptions>(
  async (app: FastifyInstance, options) => {
    let records = 0;
    let bytes = 0;
    const slots = new WeakMap<FastifyRequest, Slot>();
    const report = () => {
      options.metrics.inFlightRecords.set(records);
      options.metrics.inFlightBytes.set(bytes);
    };
    const release = (slot: Slot | undefined) => {
      if (slot === undefined || slot.released) return;
      slot.released = true;
      records -= slot.records;
      bytes -= slot.bytes;
      report();
    };
    const admitted = (request: FastifyRequest) =>
      request.method === 'POST' ? options.routes[request.routeOptions.url ?? ''] : undefined;

    app.addHook('onRequest', async (request, reply) => {
      const route = admitted(request);
      if (route === undefined) return;
      const declared = Number(request.headers['content-length']);
      const size =
        Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, route.maxBytes) : route.maxBytes;
      if (records + 1 > options.maxInFlightRecords || bytes + size > options.maxInFlightBytes) {
        throw new ProducerErrors.OVERLOADED();
      }
      const slot: Slot = { records: 1, bytes: size, handling: false, released: false };
      slots.set(request, slot);
      records++;
      bytes += size;
      report();
      reply.raw.once('close', () => {
        if (!slot.handling) release(slot);
      });
    });
    app.addHook('onResponse', async (request) => {
      const slot = slots.get(request);
      if (slot !== undefined && !slot.handling) release(slot);
    });
    // Every admitted route's handler holds its slot until it settles.
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const counted = options.routes[route.url];
      if (counted === undefined || !methods.includes('POST')) return;
      const handler = route.handler as RouteHandlerMethod;
      route.handler = async function admittedHandler(request, reply) {
        const slot = slots.get(request);
        if (slot === undefined) return handler.call(this, request, reply);
        slot.handling = true;
        try {
          const more = (counted.records?.(request.body) ?? 1) - 1;
          if (more > 0) {
            // A batch counts its lines; one alone is admitted however many it has, or it never would be.
            if (records > slot.records && records + more > options.maxInFlightRecords) {
              throw new ProducerErrors.OVERLOADED();
            }
            slot.records += more;
            records += more;
            report();
          }
          return await handler.call(this, request, reply);
        } finally {
          release(slot);
        }
      };
    });
  },
  { name: 'admission' },
);
