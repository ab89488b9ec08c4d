import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createStatusServer, listen } from '../../src/index.js';

describe('Function: createStatusServer', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('closes /metrics to a request without an accepted key, and keeps /healthz open', async () => {
    // Prepare
    server = createStatusServer({
      registry: new Registry(),
      authorizeMetrics: (authorization) => authorization === 'Bearer right',
    });
    const { port } = await listen(server, '127.0.0.1', 0);
    const get = (path: string, authorization?: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, authorization === undefined ? {} : { headers: { authorization } });

    // Act
    const without = await get('/metrics');
    const wrong = await get('/metrics', 'Bearer wrong');
    const right = await get('/metrics', 'Bearer right');
    const health = await get('/healthz');
    const readyz = await get('/readyz');

    // Assess
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer');
    expect(await without.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(wrong.status).toBe(401);
    expect(right.status).toBe(200);
    expect(health.status).toBe(200);
    // A metrics-only port has no readiness of its own.
    expect(readyz.status).toBe(404);
  });
});
