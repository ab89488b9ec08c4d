import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { buildStatusApp } from '../../src/index.js';

describe('Function: buildStatusApp', () => {
  let app: FastifyInstance | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('closes /metrics to a request without an accepted key, and keeps /healthz open', async () => {
    // Prepare
    app = await buildStatusApp({
      registry: new Registry(),
      metrics: { authorize: (authorization) => authorization === 'Bearer right' },
    });
    const get = (url: string, authorization?: string) =>
      app!.inject({ method: 'GET', url, ...(authorization === undefined ? {} : { headers: { authorization } }) });

    // Act
    const without = await get('/metrics');
    const wrong = await get('/metrics', 'Bearer wrong');
    const right = await get('/metrics', 'Bearer right');
    const health = await get('/healthz');
    const readyz = await get('/readyz');

    // Assess
    expect(without.statusCode).toBe(401);
    expect(without.headers['www-authenticate']).toBe('Bearer');
    expect(without.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(wrong.statusCode).toBe(401);
    expect(right.statusCode).toBe(200);
    expect(right.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(health.statusCode).toBe(200);
    // A metrics-only port has no readiness of its own.
    expect(readyz.statusCode).toBe(404);
    expect(readyz.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('answers 405 METHOD_NOT_ALLOWED to a write to a status route, with Allow', async () => {
    // Prepare
    app = await buildStatusApp({ registry: new Registry(), readiness: () => undefined, metrics: {} });

    // Act
    const response = await app.inject({ method: 'POST', url: '/readyz' });

    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
    expect(response.json()).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served' } });
  });
});
