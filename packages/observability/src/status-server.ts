import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Why a service is not ready: the body of its 503, `{ error: { code, message, ...details } }`. */
export interface NotReady {
  readonly code: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}

export interface StatusServerDeps {
  readonly registry: Registry;
  /** Undefined when ready. Leave it out and the server has no `/readyz` (a metrics-only port). */
  readonly readiness?: () => NotReady | undefined;
  /** When given, `/metrics` answers 401 unless this accepts the request's Authorization header. */
  readonly authorizeMetrics?: (authorization: string | undefined) => boolean;
}

function json(status: number, body: unknown): [number, string, string] {
  return [status, 'application/json; charset=utf-8', JSON.stringify(body)];
}

/**
 * A service's operational HTTP surface, apart from what it serves to clients: `/metrics`,
 * `/healthz`, and `/readyz` when readiness is given. Read-only routes need no framework.
 */
export function createStatusServer(deps: StatusServerDeps): Server {
  return createServer(async (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    let answer: [number, string, string];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer = json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served' } });
    } else if (path === '/healthz') {
      answer = json(200, { status: 'ok' });
    } else if (path === '/readyz' && deps.readiness !== undefined) {
      const notReady = deps.readiness();
      answer = notReady === undefined ? json(200, { status: 'ready' }) : json(503, { error: notReady });
    } else if (path === '/metrics' && deps.authorizeMetrics?.(request.headers.authorization) === false) {
      answer = json(401, {
        error: { code: 'UNAUTHORIZED', message: 'a valid API key is needed: Authorization: Bearer <key>' },
      });
    } else if (path === '/metrics') {
      answer = [200, deps.registry.contentType, await deps.registry.metrics()];
    } else {
      answer = json(404, { error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${path}` } });
    }
    const [status, type, body] = answer;
    response.writeHead(status, {
      'content-type': type,
      ...(status === 405 ? { allow: 'GET, HEAD' } : {}),
      ...(status === 503 ? { 'retry-after': '1' } : {}),
      ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    });
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
