import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface StatusServerDeps {
  readonly registry: Registry;
  readonly isReady: () => boolean;
  /** Shards stalled on a failing batch: the consumer answers /readyz with 503 STALLED meanwhile. */
  readonly stalledShards?: () => readonly string[];
}

function json(status: number, body: unknown): [number, string, string] {
  return [status, 'application/json; charset=utf-8', JSON.stringify(body)];
}

/**
 * The consumer's only HTTP surface: `/healthz`, `/readyz` and `/metrics`. Three read-only routes
 * need no framework.
 */
export function createStatusServer(deps: StatusServerDeps): Server {
  return createServer(async (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    let answer: [number, string, string];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer = json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served' } });
    } else if (path === '/healthz') {
      answer = json(200, { status: 'ok' });
    } else if (path === '/readyz') {
      const stalled = deps.stalledShards?.() ?? [];
      if (!deps.isReady()) {
        answer = json(503, { error: { code: 'NOT_READY', message: 'the consumer is not reading its shards yet' } });
      } else if (stalled.length > 0) {
        const message = `retrying a batch on ${stalled.join(', ')}: KMS or DynamoDB is failing`;
        answer = json(503, { error: { code: 'STALLED', message, shards: stalled } });
      } else {
        answer = json(200, { status: 'ready' });
      }
    } else if (path === '/metrics') {
      answer = [200, deps.registry.contentType, await deps.registry.metrics()];
    } else {
      answer = json(404, { error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${path}` } });
    }
    const [status, type, body] = answer;
    response.writeHead(status, { 'content-type': type, ...(status === 405 ? { allow: 'GET, HEAD' } : {}) });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
}

export async function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server.address() as AddressInfo;
}
