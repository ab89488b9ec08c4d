import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsClients } from '@records/aws-clients';
import { HANDOFF_TABLE_KEY, provisionPipeline } from '@records/provisioning';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ProducerErrors } from '../../src/errors.js';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[producer process] suite skipped: moto_server is not installed (no KMS emulator)');

const ENTRY = resolve(import.meta.dirname, '../../src/main.ts');
const MiB = 1024 * 1024;

/** A small seeded generator, so a failing case can be found again from its index. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Probe {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer | string;
}

/** Malformed, oversized, deeply nested and wrong-typed requests, each built from the generator. */
function malformed(next: () => number, index: number): Probe {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const json = { 'content-type': 'application/json' };
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => Math.floor(next() * 256)));
  const depth = 1 + Math.floor(next() * 200_000);
  const cases: (() => Probe)[] = [
    () => ({ method: 'POST', path: '/records', headers: json, body: bytes(1 + Math.floor(next() * 2_000)) }),
    () => ({
      method: 'POST',
      path: '/records',
      headers: json,
      body: '{"id":"x","a":'.slice(0, Math.floor(next() * 14)),
    }),
    () => ({ method: 'POST', path: '/records', headers: json, body: `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}` }),
    () => ({ method: 'POST', path: '/records', headers: json, body: `{"a":${'{"b":'.repeat(40)}1${'}'.repeat(40)}}` }),
    () => ({ method: 'POST', path: '/records', headers: json, body: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }) }),
    () => ({ method: 'POST', path: '/records', headers: json, body: pick(['[]', '1', '"s"', 'null', 'true', '[{}]']) }),
    () => ({
      method: 'POST',
      path: '/records',
      headers: json,
      body: `{"id":${pick(['1', 'true', '{}', '[]', '""', '" "', '"a\\u0001"'])}}`,
    }),
    () => ({ method: 'POST', path: '/records', headers: json, body: `{"n":1e${400 + index}}` }),
    () => ({ method: 'POST', path: '/records', headers: json, body: `{"n":${'9'.repeat(39 + (index % 50))}}` }),
    () => ({ method: 'POST', path: '/records', headers: json, body: '{"_pipeline":{"region":"x"}}' }),
    () => ({ method: 'POST', path: '/records', headers: json, body: '{"a":-0}' }),
    () => ({
      method: 'POST',
      path: '/records',
      headers: json,
      body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
    }),
    () => ({
      method: 'POST',
      path: '/records',
      headers: {
        'content-type': pick([
          'text/plain',
          'application/xml',
          'application/json; charset=utf-16le',
          'multipart/form-data',
        ]),
      },
      body: '{"a":1}',
    }),
    () => ({ method: 'POST', path: '/records', headers: {}, body: '{"a":1}' }),
    () => ({
      method: pick(['GET', 'PUT', 'DELETE', 'PATCH']),
      path: '/records',
      headers: json,
      body: pick(['{}', '']),
    }),
    () => ({
      method: 'GET',
      path: pick(['/%', '/records/%zz', '/..%2f..%2fetc', `/${'a'.repeat(5_000)}`, '/nope']),
      headers: {},
    }),
    () => ({
      method: 'POST',
      path: '/records/batch',
      headers: { 'content-type': 'application/x-ndjson' },
      body: Array.from({ length: 501 }, () => '{}').join('\n'),
    }),
    () => ({
      method: 'POST',
      path: '/records/batch',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '\n \n',
    }),
    () => ({ method: 'POST', path: '/records/batch', headers: json, body: '[{"a":1}]' }),
    () => ({ method: 'POST', path: '/records', headers: { ...json, 'x-pad': 'h'.repeat(20_000) }, body: '{}' }),
  ];
  return (cases[index % cases.length] as () => Probe)();
}

/** The documented status of each code, from the declarations the README's table lists. */
const STATUS_OF = Object.fromEntries(
  Object.entries(ProducerErrors).map(([code, declared]) => [code, declared.statusCode]),
);

async function metric(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

/** The producer's resident memory now and at its peak, from the kernel (kB to bytes). */
async function residentMemory(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(/(\d+) kB/.exec(status.split('\n').find((line) => line.startsWith(field)) ?? '')?.[1]);
  return { now: kb('VmRSS:') * 1024, peak: kb('VmHWM:') * 1024 };
}

/**
 * The producer's heap once it has collected what a burst left behind. V8 collects on its own time
 * (its memory reducer runs after allocation slows down), so light real traffic runs while the heap
 * is watched, for up to 90 s on a loaded machine; the clients' idle connections close meanwhile.
 */
async function heapSettles(url: string, metricsUrl: string, baseline: number): Promise<number> {
  let heap = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 180 && heap > baseline + 24 * MiB; attempt++) {
    await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${url}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ settle: 'z'.repeat(5_000) }),
        }),
      ),
    );
    await sleep(500);
    heap = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');
  }
  return heap;
}

/** Sends a request whose body is longer than its Content-Length, which fetch cannot. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('close', () => done(answer));
    socket.on('error', fail);
  });
}

describe.skipIf(kmsMissing || process.platform !== 'linux')('Process: the producer under abuse', () => {
  const name = `abuse-${randomUUID()}`;
  const clients = new AwsClients({
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoints: { kinesis: endpoints.kinesis!, dynamodb: endpoints.dynamodb!, kms: endpoints.kms! },
  });
  let child: ChildProcess;
  let url: string;
  let metricsUrl: string;
  let port: number;
  let output = '';

  beforeAll(async () => {
    await provisionPipeline({
      clients,
      regions,
      streamName: name,
      shardCount: 2,
      tableNames: [],
      // The producer runs as a user gets it, hand-off on: its tables in every region.
      keyedTables: [{ name: `${name}-handoff`, key: HANDOFF_TABLE_KEY }],
      kmsKeyAlias: `alias/${name}`,
    });
    port = await getPort({ host: '127.0.0.1' });
    const metricsPort = await getPort({ host: '127.0.0.1' });
    url = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: regions[0],
        AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
        AWS_ENDPOINT_URL_KMS: endpoints.kms,
        ...Object.fromEntries(
          regions.map((region) => [
            `AWS_ENDPOINT_URL_DYNAMODB_${region.toUpperCase().replaceAll('-', '_')}`,
            endpoints.dynamodb?.[region],
          ]),
        ),
        HANDOFF_TABLE_NAME: `${name}-handoff`,
        STREAM_NAME: name,
        KMS_KEY_ALIAS: `alias/${name}`,
        REGIONS: regions.join(','),
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        LOG_LEVEL: 'warn',
        MAX_IN_FLIGHT_BYTES: String(4 * MiB),
        // The memory bound is measured with encryption on the event loop, as before the thread
        // default: worker threads add their own heaps. On two cores shared with every emulator,
        // kinesis-local answered single PutRecords calls of the burst in 5-6 s with encryption on
        // the event loop and in up to 9 s with two threads (whose records reach it all at once),
        // against a 10 s budget: a starved emulator, not the admission under test.
        ENCRYPT_THREADS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk) => {
      output = `${output}${chunk}`.slice(-20_000);
    });
    child.stderr?.on('data', (chunk) => {
      output = `${output}${chunk}`.slice(-20_000);
    });
    for (let attempt = 0; ; attempt++) {
      const ready = await fetch(`${url}/readyz`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) break;
      if (attempt > 240 || child.exitCode !== null) throw new Error(`the producer did not start:\n${output}`);
      await sleep(250);
    }
    // Warm: the data key, the JIT and the connection pools, so the baseline is the steady state.
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${url}/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ pad: 'w'.repeat(50_000) }),
          }),
        ),
      );
    }
  });
  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
    }
    clients.destroy();
  });

  it('answers thousands of malformed requests with documented 4xx answers only, and stays up at the same memory', async () => {
    // Prepare
    const heapBefore = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');
    const next = random(20261203);
    const probes = Array.from({ length: 3_000 }, (_, index) => malformed(next, index));

    // Act: 3,000 probes, 25 at a time, and two requests longer than their Content-Length
    const answers: { index: number; status: number; code: unknown }[] = [];
    for (let start = 0; start < probes.length; start += 25) {
      const slice = probes.slice(start, start + 25);
      answers.push(
        ...(await Promise.all(
          slice.map(async (probe, offset) => {
            const response = await fetch(`${url}${probe.path}`, {
              method: probe.method,
              headers: probe.headers,
              ...(probe.body === undefined || probe.method === 'GET' ? {} : { body: probe.body }),
            });
            const text = await response.text();
            let code: unknown;
            try {
              code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
            } catch {
              code = `not JSON: ${text.slice(0, 80)}`;
            }
            return { index: start + offset, status: response.status, code };
          }),
        )),
      );
    }
    const smuggled = await rawRequest(
      port,
      'POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}garbage-after-the-body\r\n\r\n',
    );

    // Assess: every answer a documented 4xx, in the one shape, with the status its code is declared with
    const undocumented = answers.filter(
      (answer) =>
        answer.status < 400 ||
        answer.status >= 500 ||
        typeof answer.code !== 'string' ||
        STATUS_OF[answer.code] !== answer.status,
    );
    expect(undocumented.slice(0, 5)).toEqual([]);
    expect(new Set(answers.map((answer) => answer.code)).size).toBeGreaterThanOrEqual(8);
    expect(smuggled).toMatch(/"code":"BAD_REQUEST"/);
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // The heap comes back to where it was (V8 collects on its own time: a few light requests let it).
    expect(await heapSettles(url, metricsUrl, heapBefore)).toBeLessThanOrEqual(heapBefore + 24 * MiB);
  });

  it('answers 2,000 requests of 50 KB at once with 201 or OVERLOADED, with memory bounded by the byte limit', async () => {
    // Prepare
    const before = await residentMemory(child.pid as number);
    const heapBefore = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');
    const body = JSON.stringify({ pad: 'y'.repeat(50_000) });

    // Act
    const statuses = await Promise.all(
      Array.from({ length: 2_000 }, async () => {
        const response = await fetch(`${url}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const answer = (await response.json()) as { error?: { code: string } };
        return response.status === 201 ? 'accepted' : (answer.error?.code ?? String(response.status));
      }),
    );
    const after = await residentMemory(child.pid as number);

    // Assess
    const counts = Object.fromEntries(
      [...new Set(statuses)].map((status) => [status, statuses.filter((s) => s === status).length]),
    );
    const unexpected = Object.keys(counts).filter((status) => status !== 'accepted' && status !== 'OVERLOADED');
    // The producer's own warnings say why, should it answer anything else.
    expect(unexpected, output.slice(-4_000)).toEqual([]);
    expect(counts.accepted).toBeGreaterThan(0);
    // Work in hand is bounded at 4 MiB of bodies; each body is held a few times over (bytes, parsed,
    // ciphertext), plus 2,000 sockets' buffers. Unbounded, this grew by about 475 MB.
    const growth = after.peak - before.now;
    console.info(
      `[producer process] RSS ${Math.round(before.now / MiB)} MiB before, peak ${Math.round(after.peak / MiB)} MiB, ${JSON.stringify(counts)}`,
    );
    expect(growth).toBeLessThan(100 * MiB);
    expect(await heapSettles(url, metricsUrl, heapBefore)).toBeLessThanOrEqual(heapBefore + 24 * MiB);
  });
});
