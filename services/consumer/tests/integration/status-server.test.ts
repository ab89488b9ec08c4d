import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { buildConsumerStatusApp } from '../../src/status-server.js';

describe('Function: buildConsumerStatusApp', () => {
  let server: FastifyInstance | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function started(
    isReady: () => boolean = () => true,
    stalledShards: () => string[] = () => [],
    leases: { held?: () => string[]; unowned?: () => string[] } = {},
  ) {
    const registry = new Registry();
    const written = new Counter({
      name: 'consumer_records_written_total',
      help: 'Records written to the region table.',
      labelNames: ['region'] as const,
      registers: [registry],
    });
    server = await buildConsumerStatusApp({
      registry,
      isReady,
      stalledShards,
      ...(leases.held === undefined ? {} : { heldShards: leases.held }),
      ...(leases.unowned === undefined ? {} : { unownedShards: leases.unowned }),
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, registry, written };
  }

  it('returns 200 from /healthz when the process is up, ready or not', async () => {
    // Prepare
    const { url } = await started(() => false);

    // Act
    const response = await fetch(`${url}/healthz`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('returns 503 from /readyz until the poller is ready, then 200', async () => {
    // Prepare
    let ready = false;
    const { url } = await started(() => ready);

    // Act
    const before = await fetch(`${url}/readyz`);
    const beforeBody = await before.json();
    ready = true;
    const after = await fetch(`${url}/readyz?probe=kubelet`);

    // Assess
    expect(before.status).toBe(503);
    expect(beforeBody).toMatchObject({ error: { code: 'NOT_READY' } });
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ status: 'ready' });
  });

  it('returns 503 STALLED from /readyz, naming the shards, while a batch keeps failing', async () => {
    // Prepare
    let stalled = ['shardId-000000000001'];
    const { url } = await started(
      () => true,
      () => stalled,
    );

    // Act
    const during = await fetch(`${url}/readyz`);
    const duringBody = await during.json();
    stalled = [];
    const after = await fetch(`${url}/readyz`);

    // Assess
    expect(during.status).toBe(503);
    expect(duringBody).toMatchObject({ error: { code: 'STALLED', shards: ['shardId-000000000001'] } });
    expect(after.status).toBe(200);
  });

  it('returns 503 NOT_READY from /readyz while it holds no lease and a readable shard has no live owner', async () => {
    // Prepare
    let held: string[] = [];
    let unowned = ['shardId-000000000002'];
    const { url } = await started(
      () => true,
      () => [],
      { held: () => held, unowned: () => unowned },
    );

    // Act
    const idleWhileUnread = await fetch(`${url}/readyz`);
    const body = await idleWhileUnread.json();
    unowned = [];
    const idleAllOwned = await fetch(`${url}/readyz`);
    held = ['shardId-000000000001'];
    unowned = ['shardId-000000000002'];
    const holding = await fetch(`${url}/readyz`);

    // Assess: with nothing unread it is a ready spare; holding a lease it is ready whatever others do
    expect(idleWhileUnread.status).toBe(503);
    expect(body).toMatchObject({ error: { code: 'NOT_READY', shards: ['shardId-000000000002'] } });
    expect(idleAllOwned.status).toBe(200);
    expect(holding.status).toBe(200);
  });

  it('returns the registry in the Prometheus text format from /metrics', async () => {
    // Prepare
    const { url, registry, written } = await started();
    written.inc({ region: 'eu-west-1' }, 3);

    // Act
    const response = await fetch(`${url}/metrics`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(registry.contentType);
    const text = await response.text();
    expect(text).toBe(await registry.metrics());
    expect(text).toContain('consumer_records_written_total{region="eu-west-1"} 3');
  });

  it('returns 404 with the NOT_FOUND code when the path is unknown', async () => {
    // Prepare
    const { url } = await started();

    // Act
    const response = await fetch(`${url}/records`);

    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('returns 405 with the METHOD_NOT_ALLOWED code when the method is POST', async () => {
    // Prepare
    const { url } = await started();

    // Act
    const response = await fetch(`${url}/healthz`, { method: 'POST', body: '{}' });

    // Assess
    expect(response.status).toBe(405);
    expect(await response.json()).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
  });

  it('returns the methods it serves in an Allow header when it answers 405', async () => {
    // Prepare
    const { url } = await started();

    // Act
    const response = await fetch(`${url}/metrics`, { method: 'DELETE' });
    await response.body?.cancel();

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('returns the status without a body when the method is HEAD', async () => {
    // Prepare
    const { url } = await started(() => false);

    // Act
    const response = await fetch(`${url}/readyz`, { method: 'HEAD' });

    // Assess
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('');
  });
});
