import { EventEmitter } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import { KmsUnavailableError } from '@records/data-key-cache';
import { EncryptionWorkerError } from '@records/envelope';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ClockSkewedError, StreamUnavailableError } from '../../src/errors.js';
import { createRecordIngestor } from '../../src/record-ingestor.js';
import { appWith, POSITION, realIngestor, unskewedClock } from './app-with.js';

const VERSION = /^\d{18}-\d{6}-a1b2c3d4$/;

describe('Function: buildApp', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it('returns 201 with the id and each region position when a record is accepted', async () => {
    // Prepare
    app = await appWith(realIngestor());

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: { id: 'r-1', a: 1 } });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      id: 'r-1',
      version: expect.stringMatching(VERSION),
      regions: { 'us-east-1': POSITION, 'eu-west-1': POSITION },
      pending: [],
    });
  });

  it.each([
    ['a JSON array', { payload: '[1,2]', headers: { 'content-type': 'application/json' } }, 400, 'RECORD_NOT_OBJECT'],
    ['JSON null', { payload: 'null', headers: { 'content-type': 'application/json' } }, 400, 'RECORD_NOT_OBJECT'],
    ['a JSON string', { payload: '"hi"', headers: { 'content-type': 'application/json' } }, 400, 'RECORD_NOT_OBJECT'],
    ['broken JSON', { payload: '{"a":', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_JSON'],
    ['an empty body', { payload: '', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_JSON'],
    [
      'a __proto__ key',
      { payload: '{"__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } },
      400,
      'RECORD_NOT_STORABLE',
    ],
    [
      'a key given twice',
      { payload: '{"a":1,"a":2}', headers: { 'content-type': 'application/json' } },
      400,
      'INVALID_JSON',
    ],
    [
      'bytes that are not UTF-8',
      {
        payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
        headers: { 'content-type': 'application/json' },
      },
      400,
      'INVALID_ENCODING',
    ],
    [
      'a UTF-16 charset',
      { payload: '{"a":1}', headers: { 'content-type': 'application/json; charset=utf-16le' } },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'the reserved attribute',
      { payload: '{"_pipeline":{"stream":"x"}}', headers: { 'content-type': 'application/json' } },
      400,
      'RESERVED_ATTRIBUTE',
    ],
    [
      'a numeric id',
      { payload: '{"id":5}', headers: { 'content-type': 'application/json' } },
      400,
      'INVALID_RECORD_ID',
    ],
    ['plain text', { payload: 'hello', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'a body over the limit',
      { payload: JSON.stringify({ pad: 'x'.repeat(2000) }), headers: { 'content-type': 'application/json' } },
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ])('returns %s as a 4xx with a stable code', async (_name, request, status, code) => {
    // Prepare
    app = await appWith(realIngestor());

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', ...request });

    // Assess
    expect(response.statusCode).toBe(status);
    expect(response.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('returns 404 NOT_FOUND for an unknown route', async () => {
    app = await appWith(realIngestor());
    const response = await app.inject({ method: 'GET', url: '/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('NOT_FOUND');
  });

  it('returns 503 KMS_UNAVAILABLE without internals when no data key can be had', async () => {
    // Prepare
    const cause = new Error('connect ECONNREFUSED 10.1.2.3:443');
    app = await appWith(async () => {
      throw new KmsUnavailableError({ cause, retryAfterMs: 100 });
    });

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: { a: 1 } });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json().error.code).toBe('KMS_UNAVAILABLE');
    expect(response.body).not.toContain('ECONNREFUSED');
  });

  it('returns Retry-After as the key back-off window in whole seconds, rounded up', async () => {
    // Prepare
    app = await appWith(async () => {
      throw new KmsUnavailableError({ cause: new Error('throttled'), retryAfterMs: 2500 });
    });

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: { a: 1 } });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('3');
  });

  it('returns 503 KMS_TIMEOUT with Retry-After when the budget runs out while the data key is awaited', async () => {
    // Prepare: KMS never answers; the request has a budget of 20 ms
    let pushed = false;
    app = await appWith(
      createRecordIngestor({
        streamName: 'records',
        pipelineAttribute: '_pipeline',
        requestBudgetMs: 20,
        encryptor: { encrypt: () => new Promise(() => {}) },
        pusher: {
          push: async () => {
            pushed = true;
            return { regions: {}, pending: [] };
          },
        },
        ...unskewedClock(),
      }),
    );

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: { a: 1 } });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toEqual({ error: { code: 'KMS_TIMEOUT', message: expect.any(String) } });
    expect(pushed).toBe(false);
  });

  it('returns 503 ENCRYPTION_UNAVAILABLE with Retry-After, and never pushes, when the encryption worker dies', async () => {
    // Prepare
    let pushed = false;
    app = await appWith(
      createRecordIngestor({
        streamName: 'records',
        pipelineAttribute: '_pipeline',
        requestBudgetMs: 10_000,
        encryptor: { encrypt: async () => Promise.reject(new EncryptionWorkerError(new Error('worker exited'))) },
        pusher: {
          push: async () => {
            pushed = true;
            return { regions: {}, pending: [] };
          },
        },
        ...unskewedClock(),
      }),
    );

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: { a: 1 } });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toEqual({ error: { code: 'ENCRYPTION_UNAVAILABLE', message: expect.any(String) } });
    expect(pushed).toBe(false);
  });

  it('returns 400 BAD_REQUEST in the error shape when the URL cannot be decoded', async () => {
    // Prepare
    app = await appWith(realIngestor());

    // Act
    const response = await app.inject({ method: 'GET', url: '/%c0' });

    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'BAD_REQUEST', message: 'the request URL is not valid' } });
  });

  it.each([
    ['GET', '/readyz'],
    ['GET', '/healthz'],
    ['POST', '/records'],
    ['GET', '/nope'],
  ])('returns 503 NOT_READY with Retry-After to %s %s when it arrives while the app closes', async (method, url) => {
    // Prepare
    let ingested = 0;
    app = await appWith(async () => {
      ingested += 1;
      return { id: 'r-1', version: '000001764790000000-000000-a1b2c3d4', regions: {}, pending: [] };
    });
    await app.ready();
    // light-my-request holds an old-style (stream 1) payload until it ends and only then hands the
    // request to the app: the request is in flight before close() and reaches the app after it.
    const body = Object.assign(new EventEmitter(), { resume: () => undefined });
    const inFlight = app.inject({ method, url, payload: body, headers: { 'content-type': 'application/json' } });
    await app.close();

    // Act
    body.emit('data', '{"id":"r-1"}');
    body.emit('end');
    const response = await inFlight;

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toEqual({ error: { code: 'NOT_READY', message: expect.any(String) } });
    expect(ingested).toBe(0);
  });

  it('returns 503 STREAM_UNAVAILABLE with the id to retry with, and which regions took it, when a region refuses the record', async () => {
    // Prepare
    app = await appWith(
      realIngestor(async () => {
        throw new StreamUnavailableError('r-2', ['eu-west-1'], { acceptedRegions: ['us-east-1'] });
      }),
    );

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: { id: 'r-2' } });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      error: {
        code: 'STREAM_UNAVAILABLE',
        message: expect.any(String),
        id: 'r-2',
        regions: ['eu-west-1'],
        accepted: ['us-east-1'],
      },
    });
    expect(response.headers['retry-after']).toBe('1');
  });

  it('returns 500 INTERNAL_ERROR and hides the message when something unexpected fails', async () => {
    app = await appWith(async () => {
      throw new Error('database password is hunter2');
    });
    const response = await app.inject({ method: 'POST', url: '/records', payload: { a: 1 } });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
  });

  it('never logs the record it was sent', async () => {
    // Prepare
    const logs: string[] = [];
    app = await appWith(realIngestor(), { logs });

    // Act
    await app.inject({ method: 'POST', url: '/records', payload: { id: 'r-3', ssn: '078-05-1120' } });
    await app.inject({ method: 'POST', url: '/records', payload: { id: 5, ssn: '078-05-1120' } });

    // Assess
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain('078-05-1120');
  });

  it('answers /healthz always and /readyz only when ready, and keeps /metrics off the ingest port', async () => {
    // Prepare
    const registry = new Registry();
    app = await appWith(realIngestor(), { ready: false, registry });
    await app.inject({ method: 'POST', url: '/records', payload: { id: 'r-4' } });
    await app.inject({
      method: 'POST',
      url: '/records',
      payload: '{broken',
      headers: { 'content-type': 'application/json' },
    });

    // Act
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    const onIngestPort = await app.inject({ method: 'GET', url: '/metrics' });
    const metrics = await registry.metrics();

    // Assess
    expect(health.statusCode).toBe(200);
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('NOT_READY');
    expect(ready.headers['retry-after']).toBe('1');
    expect(onIngestPort.statusCode).toBe(404);
    expect(metrics).toContain('producer_records_total{outcome="accepted"} 1');
    expect(metrics).toContain('producer_records_total{outcome="invalid"} 1');
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/records",status_code="201"\} 1/,
    );
  });

  it('answers 503 OVERLOADED at once, with Retry-After, past the in-flight bound, and takes records again after', async () => {
    // Prepare: every push waits until the test lets it go
    const waiting: (() => void)[] = [];
    const push = () =>
      new Promise<{ regions: { 'us-east-1': typeof POSITION; 'eu-west-1': typeof POSITION }; pending: never[] }>(
        (resolve) => {
          waiting.push(() => resolve({ regions: { 'us-east-1': POSITION, 'eu-west-1': POSITION }, pending: [] }));
        },
      );
    const registry = new Registry();
    app = await appWith(realIngestor(push), {
      registry,
      admission: { maxInFlightRecords: 2, maxInFlightBytes: 1 << 20 },
    });
    const post = (id: string) => app!.inject({ method: 'POST', url: '/records', payload: { id } });

    // Act
    const first = post('a');
    const second = post('b');
    while (waiting.length < 2) await new Promise((resolve) => setImmediate(resolve));
    const third = await post('c');
    const inFlight = await registry.getSingleMetric('producer_in_flight_records')?.get();
    for (const release of waiting.splice(0)) release();
    const done = await Promise.all([first, second]);
    const fourth = post('d');
    while (waiting.length < 1) await new Promise((resolve) => setImmediate(resolve));
    for (const release of waiting.splice(0)) release();

    // Assess
    expect(third.statusCode).toBe(503);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.json()).toMatchObject({ error: { code: 'OVERLOADED' } });
    expect(inFlight?.values[0]?.value).toBe(2);
    expect(done.map((response) => response.statusCode)).toEqual([201, 201]);
    expect((await fourth).statusCode).toBe(201);
  });

  it('answers 503 OVERLOADED when the bodies in hand would pass the byte bound', async () => {
    // Prepare: a push is held until the test lets it go, so the first body is in hand for sure
    const waiting: (() => void)[] = [];
    const push = () =>
      new Promise<{ regions: { 'us-east-1': typeof POSITION; 'eu-west-1': typeof POSITION }; pending: never[] }>(
        (resolve) => {
          waiting.push(() => resolve({ regions: { 'us-east-1': POSITION, 'eu-west-1': POSITION }, pending: [] }));
        },
      );
    app = await appWith(realIngestor(push), { admission: { maxInFlightRecords: 10, maxInFlightBytes: 1024 } });
    const payload = JSON.stringify({ id: 'x', pad: 'p'.repeat(560) });
    const post = () =>
      app!.inject({ method: 'POST', url: '/records', payload, headers: { 'content-type': 'application/json' } });

    // Act: a body of 600 bytes fits alone; a second while the first is in hand does not
    const first = post();
    while (waiting.length < 1) await new Promise((resolve) => setImmediate(resolve));
    const second = await post();
    for (const release of waiting.splice(0)) release();
    const alone = await first;
    const third = post();
    while (waiting.length < 1) await new Promise((resolve) => setImmediate(resolve));
    for (const release of waiting.splice(0)) release();

    // Assess
    expect(second.statusCode).toBe(503);
    expect(second.json()).toMatchObject({ error: { code: 'OVERLOADED' } });
    expect(alone.statusCode).toBe(201);
    expect((await third).statusCode).toBe(201);
  });

  it('answers bytes that are no HTTP request (a body longer than its Content-Length) in the same error shape', async () => {
    // Prepare: a real port, since Node's parser is what refuses them
    app = await appWith(realIngestor());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;

    // Act
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('utf8');
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.write(
        'POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}and more bytes\r\n\r\n',
      );
    });

    // Assess: the bytes past the first request get our 400, and the connection is closed
    const last = answer.slice(answer.lastIndexOf('HTTP/1.1'));
    expect(last).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'BAD_REQUEST', message: 'the request is not valid HTTP' },
    });
  });

  it('asks for an API key on every route but the health probes when keys are configured', async () => {
    // Prepare
    const key = 'k'.repeat(32);
    app = await appWith(realIngestor(), { apiKeys: ['another-key-of-enough-length', key] });
    const post = (authorization?: string) =>
      app!.inject({
        method: 'POST',
        url: '/records',
        payload: { id: 'auth-1' },
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      });

    // Act
    const missing = await post();
    const wrong = await post(`Bearer ${'x'.repeat(32)}`);
    const notBearer = await post(`Basic ${key}`);
    const right = await post(`Bearer ${key}`);
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });

    // Assess
    for (const refused of [missing, wrong, notBearer]) {
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    expect(right.statusCode).toBe(201);
    expect(health.statusCode).toBe(200);
    expect(ready.statusCode).toBe(200);
  });

  it('takes a batch of NDJSON records and answers each line in order, 207 when some failed', async () => {
    // Prepare
    app = await appWith(realIngestor());
    const payload = ['{"id":"b-1","n":12345678901234567}', '', '[1]', '{"id":"b-2"}\r', '{"n":1e-400}', ''].join('\n');

    // Act
    const response = await app.inject({
      method: 'POST',
      url: '/records/batch',
      payload,
      headers: { 'content-type': 'application/x-ndjson' },
    });

    // Assess
    expect(response.statusCode).toBe(207);
    expect(response.json()).toEqual({
      accepted: 2,
      failed: 2,
      results: [
        {
          status: 201,
          id: 'b-1',
          version: expect.stringMatching(VERSION),
          regions: { 'us-east-1': POSITION, 'eu-west-1': POSITION },
          pending: [],
        },
        { status: 400, error: { code: 'RECORD_NOT_OBJECT', message: expect.any(String) } },
        {
          status: 201,
          id: 'b-2',
          version: expect.stringMatching(VERSION),
          regions: { 'us-east-1': POSITION, 'eu-west-1': POSITION },
          pending: [],
        },
        { status: 400, error: { code: 'RECORD_NOT_STORABLE', message: expect.any(String) } },
      ],
    });
  });

  it('answers a batch line some regions did not take as POST /records would: the generated id and the regions that took it', async () => {
    // Prepare: the second line's record is taken by one region only, and its line has no id
    const push = async (id: string) => {
      if (id !== 'd-1') throw new StreamUnavailableError(id, ['eu-west-1'], { acceptedRegions: ['us-east-1'] });
      return { regions: { 'us-east-1': POSITION, 'eu-west-1': POSITION }, pending: [] };
    };
    app = await appWith(realIngestor(push));

    // Act
    const response = await app.inject({
      method: 'POST',
      url: '/records/batch',
      payload: '{"id":"d-1"}\n{"n":2}\n',
      headers: { 'content-type': 'application/x-ndjson' },
    });
    const single = await app.inject({ method: 'POST', url: '/records', payload: { n: 3 } });

    // Assess: the line's error is the single answer's body, id included, so a retry keeps the id
    const line = response.json().results[1];
    expect(response.statusCode).toBe(207);
    expect(line).toEqual({
      status: 503,
      error: {
        code: 'STREAM_UNAVAILABLE',
        message: expect.any(String),
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        regions: ['eu-west-1'],
        accepted: ['us-east-1'],
      },
    });
    expect(Object.keys(line.error).sort()).toEqual(Object.keys(single.json().error).sort());
  });

  it('counts each line of a batch toward MAX_IN_FLIGHT_RECORDS, and takes a batch alone however many lines it has', async () => {
    // Prepare: pushes wait until the test lets them go
    const waiting: (() => void)[] = [];
    const push = () =>
      new Promise<{ regions: { 'us-east-1': typeof POSITION }; pending: never[] }>((resolve) => {
        waiting.push(() => resolve({ regions: { 'us-east-1': POSITION }, pending: [] }));
      });
    const registry = new Registry();
    app = await appWith(realIngestor(push), {
      registry,
      admission: { maxInFlightRecords: 3, maxInFlightBytes: 1 << 20 },
    });
    const batch = (lines: number) =>
      app!.inject({
        method: 'POST',
        url: '/records/batch',
        payload: Array.from({ length: lines }, (_, index) => `{"i":${index}}`).join('\n'),
        headers: { 'content-type': 'application/x-ndjson' },
      });

    // Act: a batch of 5 lines alone (past the bound of 3), then a single record beside it
    const big = batch(5);
    while (waiting.length < 5) await new Promise((resolve) => setImmediate(resolve));
    const inFlight = (await registry.getSingleMetric('producer_in_flight_records')?.get())?.values[0]?.value;
    const beside = await app.inject({ method: 'POST', url: '/records', payload: { id: 'x' } });
    for (const release of waiting.splice(0)) release();
    const bigAnswer = await big;
    const after = (await registry.getSingleMetric('producer_in_flight_records')?.get())?.values[0]?.value;

    // Assess
    expect(inFlight).toBe(5);
    expect(beside.statusCode).toBe(503);
    expect(beside.json()).toMatchObject({ error: { code: 'OVERLOADED' } });
    expect(bigAnswer.statusCode).toBe(201);
    expect(after).toBe(0);
  });

  it("holds a request's admission slot while its record is still being put after the client reset the connection", async () => {
    // Prepare: a real port, so the client can reset its connection; pushes wait for the test
    const waiting: (() => void)[] = [];
    const push = () =>
      new Promise<{ regions: { 'us-east-1': typeof POSITION }; pending: never[] }>((resolve) => {
        waiting.push(() => resolve({ regions: { 'us-east-1': POSITION }, pending: [] }));
      });
    const registry = new Registry();
    app = await appWith(realIngestor(push), {
      registry,
      admission: { maxInFlightRecords: 1, maxInFlightBytes: 1 << 20 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const inFlight = async () =>
      (await registry.getSingleMetric('producer_in_flight_records')?.get())?.values[0]?.value;

    // Act: post, reset the connection while the push waits, then post again
    const body = '{"id":"reset-1"}';
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        `POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
    );
    while (waiting.length < 1) await new Promise((resolve) => setImmediate(resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resetAndDestroy();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 0));
    const heldAfterReset = await inFlight();
    const turnedAway = await app.inject({ method: 'POST', url: '/records', payload: { id: 'reset-2' } });
    for (const release of waiting.splice(0)) release();
    while ((await inFlight()) !== 0) await new Promise((resolve) => setImmediate(resolve));
    const taken = app.inject({ method: 'POST', url: '/records', payload: { id: 'reset-3' } });
    while (waiting.length < 1) await new Promise((resolve) => setImmediate(resolve));
    for (const release of waiting.splice(0)) release();

    // Assess
    expect(heldAfterReset).toBe(1);
    expect(turnedAway.statusCode).toBe(503);
    expect(turnedAway.json()).toMatchObject({ error: { code: 'OVERLOADED' } });
    expect((await taken).statusCode).toBe(201);
  });

  it('answers 201 when every record of a batch was accepted, and refuses an empty or oversized batch', async () => {
    // Prepare
    app = await appWith(realIngestor());
    const batch = (payload: string) =>
      app!.inject({
        method: 'POST',
        url: '/records/batch',
        payload,
        headers: { 'content-type': 'application/x-ndjson' },
      });

    // Act
    const all = await batch('{"id":"c-1"}\n{"id":"c-2"}\n');
    const empty = await batch('\n\n');
    const tooMany = await batch(Array.from({ length: 501 }, (_, index) => `{"i":${index}}`).join('\n'));

    // Assess
    expect(all.statusCode).toBe(201);
    expect(all.json()).toMatchObject({ accepted: 2, failed: 0 });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ error: { code: 'INVALID_JSON' } });
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json()).toMatchObject({
      error: { code: 'BATCH_TOO_LARGE', message: 'a batch holds at most 500 records' },
    });
  });

  it('returns 503 CLOCK_SKEWED with Retry-After, and /readyz not ready with the same code, while the clock is skewed', async () => {
    // Prepare
    app = await appWith(
      async () => {
        throw new ClockSkewedError(10_000);
      },
      { clockSkewed: true },
    );

    // Act
    const posted = await app.inject({ method: 'POST', url: '/records', payload: { id: 'r-1' } });
    const readiness = await app.inject({ method: 'GET', url: '/readyz' });

    // Assess
    expect(posted.statusCode).toBe(503);
    expect(posted.headers['retry-after']).toBe('10');
    expect(posted.json().error.code).toBe('CLOCK_SKEWED');
    expect(readiness.statusCode).toBe(503);
    expect(readiness.json().error.code).toBe('CLOCK_SKEWED');
  });
});
