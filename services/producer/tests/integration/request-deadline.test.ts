import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { AwsClients } from '@records/aws-clients';
import { resolveWrappingKeys } from '@records/envelope';
import { KmsProxy } from '@records/local-stack/testing';
import { loadPipelineSettings } from '@records/pipeline-config';
import { provisionPipeline } from '@records/provisioning';
import getPort from 'get-port';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createProducer, partitionKey, producerAwsServiceSettings } from '../../src/index.js';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[request deadline] suite skipped: moto_server is not installed (no KMS emulator)');

const ENTRY = resolve(import.meta.dirname, '../../src/main.ts');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe.skipIf(kmsMissing)('Feature: one deadline per request, against the emulators', () => {
  const name = `deadline-${randomUUID()}`;
  const clients = new AwsClients({
    credentials,
    endpoints: { kinesis: endpoints.kinesis!, dynamodb: endpoints.dynamodb!, kms: endpoints.kms! },
  });

  /** The partition key of every record in the region's stream, read from the start of each shard. */
  async function partitionKeysInStream(region: string): Promise<string[]> {
    const kinesis = clients.kinesis(region);
    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: name }));
    const keys: string[] = [];
    for (const shard of Shards) {
      let { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      while (ShardIterator !== undefined) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
        keys.push(...(page.Records ?? []).map((record) => record.PartitionKey as string));
        if ((page.Records?.length ?? 0) === 0 || page.MillisBehindLatest === 0) break;
        ShardIterator = page.NextShardIterator;
      }
    }
    return keys;
  }

  beforeAll(async () => {
    await provisionPipeline({
      clients,
      regions,
      streamName: name,
      shardCount: 1,
      tableNames: [],
      kmsKeyAlias: `alias/${name}`,
    });
  });
  afterAll(() => clients.destroy());

  it('aborts a PutRecords held past the deadline, so it never reaches Kinesis after the 503, and the newer post is the only one there', async () => {
    // Prepare: the second region's Kinesis behind a proxy, the producer's own client bounds
    const [first, second] = regions as [string, string];
    const budgetMs = 1_500;
    const proxy = await KmsProxy.start(endpoints.kinesis!);
    const behindProxy = new AwsClients({
      credentials,
      services: producerAwsServiceSettings(budgetMs),
      endpoints: { kms: endpoints.kms!, kinesis: { [first]: endpoints.kinesis!, [second]: proxy.url } },
    });
    const keys = await resolveWrappingKeys({
      settings: { kind: 'kms', alias: `alias/${name}` },
      regions,
      kms: (region) => behindProxy.kms(region),
    });
    const producer = createProducer({
      pipeline: loadPipelineSettings(
        { STREAM_NAME: name, KMS_KEY_ALIAS: `alias/${name}`, REGIONS: regions.join(',') },
        { cacheMaxAgeSeconds: 300, refreshAhead: true },
      ),
      clients: behindProxy,
      keys,
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
      requestBudgetMs: budgetMs,
    });
    const app = await buildApp({
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      ...producer,
      isReady: () => true,
      bodyLimit: 64 * 1024,
    });
    const id = `late-${randomUUID()}`;
    proxy.hold({ operation: 'PutRecords' }, { calls: 1 });

    // Act: v1's call is held in the second region past its deadline; v2 is posted and acknowledged;
    // then the held call is let through
    const older = await app.inject({ method: 'POST', url: '/records', payload: { id, v: 1 } });
    const callsHeld = proxy.heldCount;
    const newer = await app.inject({ method: 'POST', url: '/records', payload: { id, v: 2 } });
    proxy.release();
    // The released call would have reached kinesis-local by now, had its client still been waiting.
    await sleep(500);

    // Assess
    expect(older.statusCode).toBe(503);
    expect(older.headers['retry-after']).toBe('1');
    expect(older.json().error).toMatchObject({ code: 'STREAM_UNAVAILABLE', id, regions: [second], accepted: [first] });
    // One call only: the SDK made one attempt, and the pusher did not send another while it was out.
    expect(callsHeld).toBe(1);
    expect(proxy.abandonedCount({ operation: 'PutRecords', region: second })).toBe(1);
    expect(newer.statusCode).toBe(201);
    // What reached kinesis-local through the proxy: v2's call, and nothing of v1.
    expect(proxy.count({ operation: 'PutRecords', region: second })).toBe(1);
    const inSecond = (await partitionKeysInStream(second)).filter((key) => key === partitionKey(id));
    expect(inSecond).toHaveLength(1);
    expect(newer.json().regions[second].sequenceNumber).toBeDefined();
    await app.close();
    producer.close();
    behindProxy.destroy();
    await proxy.close();
  });

  describe('Process: the producer while KMS answers every call 20 s late', () => {
    const budgetMs = 2_000;
    let proxy: KmsProxy;
    let child: ChildProcess;
    let url: string;
    let output = '';

    beforeAll(async () => {
      proxy = await KmsProxy.start(endpoints.kms!);
      const port = await getPort({ host: '127.0.0.1' });
      url = `http://127.0.0.1:${port}`;
      child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY], {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_REGION: regions[0],
          AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
          AWS_ENDPOINT_URL_KMS: proxy.url,
          STREAM_NAME: name,
          KMS_KEY_ALIAS: `alias/${name}`,
          REGIONS: regions.join(','),
          HOST: '127.0.0.1',
          PORT: String(port),
          METRICS_PORT: '0',
          LOG_LEVEL: 'error',
          REQUEST_BUDGET_MS: String(budgetMs),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => {
        output = `${output}${chunk}`.slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      for (let attempt = 0; ; attempt++) {
        const ready = await fetch(`${url}/readyz`).then(
          (response) => response.ok,
          () => false,
        );
        if (ready) break;
        if (attempt > 240 || child.exitCode !== null) throw new Error(`the producer did not start:\n${output}`);
        await sleep(250);
      }
    });
    afterAll(async () => {
      if (child !== undefined && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((done) => child.once('exit', done));
      }
      await proxy?.close();
    });

    async function post(id: string) {
      const started = performance.now();
      const response = await fetch(`${url}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id }),
      });
      const body = (await response.json()) as { error?: { code: string } };
      return {
        id,
        status: response.status,
        code: body.error?.code,
        retryAfter: Number(response.headers.get('retry-after')),
        tookMs: performance.now() - started,
      };
    }

    it('answers every POST within the budget with a KMS stage code, puts none of them, and takes POSTs again once KMS is prompt', async () => {
      // Prepare: no data key is cached yet (the producer encrypted nothing), and KMS turns 20 s late
      proxy.delay(20_000);

      // Act: ten POSTs at once, then five one after another
      const during = await Promise.all(Array.from({ length: 10 }, () => post(`slow-${randomUUID()}`)));
      for (let index = 0; index < 5; index++) during.push(await post(`slow-${randomUUID()}`));
      proxy.restore();
      let after = await post(`prompt-${randomUUID()}`);
      // A failed KMS call leaves a back-off window (at most 10 s): tried again, boundedly, until it has passed.
      for (let attempt = 0; attempt < 60 && after.status !== 201; attempt++) {
        await sleep(250);
        after = await post(`prompt-${randomUUID()}`);
      }

      // Assess
      const codes = during.map((answer) => answer.code);
      console.info(
        `[request deadline] during the KMS brown-out: ${JSON.stringify(Object.fromEntries([...new Set(codes)].map((code) => [code, codes.filter((c) => c === code).length])))}, slowest ${Math.round(Math.max(...during.map((answer) => answer.tookMs)))} ms of a ${budgetMs} ms budget`,
      );
      for (const answer of during) {
        expect(answer.status).toBe(503);
        expect(['KMS_TIMEOUT', 'KMS_UNAVAILABLE']).toContain(answer.code);
        expect(answer.retryAfter).toBeGreaterThanOrEqual(1);
        // Generous: the budget, and slack for a loaded machine; unbounded, a POST waited about a minute.
        expect(answer.tookMs).toBeLessThan(budgetMs + 4_000);
      }
      // The ten at once waited on the late call itself: their budget ran out before the call's own bound.
      expect(codes.slice(0, 10)).toContain('KMS_TIMEOUT');
      expect(after.status).toBe(201);
      for (const region of regions) {
        const stored = new Set(await partitionKeysInStream(region));
        expect(during.filter((answer) => stored.has(partitionKey(answer.id)))).toEqual([]);
      }
      expect(child.exitCode).toBeNull();
    });
  });
});
