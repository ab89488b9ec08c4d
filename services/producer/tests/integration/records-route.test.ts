import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { AwsClients } from '@records/aws-clients';
import { CoalescingCachingMaterialsManager } from '@records/data-key-cache';
import { RecordDecryptor, regionKeyring, resolveWrappingKeys } from '@records/envelope';
import { KmsProxy } from '@records/local-stack/testing';
import { loadPipelineSettings } from '@records/pipeline-config';
import { provisionPipeline } from '@records/provisioning';
import type { FastifyInstance } from 'fastify';
import getPort from 'get-port';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createProducer, type ProducerBatching, partitionKey } from '../../src/index.js';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[producer] integration suite skipped: moto_server is not installed (no KMS emulator)');

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const cache = {
  capacity: 10,
  maxAgeSeconds: 300,
  maxMessages: 100,
  maxBytes: 1 << 20,
  refreshAhead: true,
  refreshAheadAt: 0.8,
};

describe.skipIf(kmsMissing)('Route: POST /records against the emulators', () => {
  const name = `producer-${randomUUID()}`;
  const clients = new AwsClients({
    credentials,
    endpoints: { kinesis: endpoints.kinesis!, dynamodb: endpoints.dynamodb!, kms: endpoints.kms! },
  });
  const kms = (region: string) => clients.kms(region);
  let app: FastifyInstance | undefined;

  async function producerCore(
    options: {
      clients?: AwsClients;
      requestBudgetMs?: number;
      batching?: Partial<ProducerBatching>;
      encryptThreads?: number;
    } = {},
  ) {
    const own = options.clients ?? clients;
    const keys = await resolveWrappingKeys({ settings: { kind: 'kms', alias: `alias/${name}` }, regions, kms });
    const registry = new Registry();
    const logger = pino({ level: 'silent' });
    return createProducer({
      pipeline: loadPipelineSettings(
        { STREAM_NAME: name, KMS_KEY_ALIAS: `alias/${name}`, REGIONS: regions.join(',') },
        { cacheMaxAgeSeconds: 300, refreshAhead: true },
      ),
      clients: own,
      keys,
      registry,
      logger,
      cache: { backoff: { baseMs: 10, maxMs: 50 } },
      ...(options.requestBudgetMs === undefined ? {} : { requestBudgetMs: options.requestBudgetMs }),
      ...(options.batching === undefined ? {} : { batching: options.batching }),
      ...(options.encryptThreads === undefined ? {} : { encryptThreads: options.encryptThreads }),
    });
  }

  async function producerApp(options: { clients?: AwsClients; requestBudgetMs?: number } = {}) {
    const producer = await producerCore(options);
    const logger = pino({ level: 'silent' });
    return buildApp({ logger, registry: new Registry(), ...producer, isReady: () => true, bodyLimit: 64 * 1024 });
  }

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

  const recordsInStream = async (region: string) => (await partitionKeysInStream(region)).length;

  async function decryptIn(region: string, ciphertext: Uint8Array): Promise<string> {
    const keys = await resolveWrappingKeys({ settings: { kind: 'kms', alias: `alias/${name}` }, regions, kms });
    const decryptor = new RecordDecryptor({
      materials: new CoalescingCachingMaterialsManager({
        backing: regionKeyring(keys, region, kms),
        ...cache,
        refreshAhead: false,
      }),
      maxEncryptedDataKeys: regions.length,
    });
    const { plaintext } = await decryptor.decrypt(ciphertext, name);
    return Buffer.from(plaintext).toString('utf8');
  }

  async function readBack(region: string, shardId: string, sequenceNumber: string): Promise<Uint8Array> {
    const kinesis = clients.kinesis(region);
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: name,
        ShardId: shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: sequenceNumber,
      }),
    );
    const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
    expect(Records?.[0]?.SequenceNumber).toBe(sequenceNumber);
    return Records?.[0]?.Data as Uint8Array;
  }

  beforeAll(async () => {
    await provisionPipeline({
      clients,
      regions,
      streamName: name,
      shardCount: 2,
      tableNames: [],
      kmsKeyAlias: `alias/${name}`,
    });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(() => clients.destroy());

  it('puts one ciphertext in every region that each region can decrypt with only its own key', async () => {
    // Prepare
    app = await producerApp();
    const body = { id: `r-${randomUUID()}`, text: 'héllo 🙂', nested: { n: [1, 2.5, null, true] } };

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: body });

    // Assess
    expect(response.statusCode).toBe(201);
    const { id, version, regions: positions } = response.json();
    expect(id).toBe(body.id);
    const ciphertexts = await Promise.all(
      regions.map((region) => readBack(region, positions[region].shardId, positions[region].sequenceNumber)),
    );
    expect(Buffer.from(ciphertexts[0] as Uint8Array).equals(Buffer.from(ciphertexts[1] as Uint8Array))).toBe(true);
    for (const [index, region] of regions.entries()) {
      // The record, and the version it was answered with under the reserved attribute.
      expect(JSON.parse(await decryptIn(region, ciphertexts[index] as Uint8Array))).toEqual({
        ...body,
        _pipeline: { version },
      });
    }
  });

  it('puts a record from code, without HTTP, with every digit of its numbers, to every region', async () => {
    // Prepare: the producer core as a library, the shape of the documentation's MultiRegionRecordPusher
    const producer = await producerCore();
    const id = `lib-${randomUUID()}`;

    // Act
    const result = await producer.ingest({ id, count: 12345678901234567890n, ratio: 0.25, tags: ['a'] });
    const fromText = await producer.ingest(`{"id":"${id}-text","exact":1.2345678901234567890123456789012345678}`);
    await producer.close();

    // Assess
    expect(Object.keys(result.regions).sort()).toEqual([...regions].sort());
    for (const region of regions) {
      const position = result.regions[region] as { shardId: string; sequenceNumber: string };
      const ciphertext = await readBack(region, position.shardId, position.sequenceNumber);
      expect(await decryptIn(region, ciphertext)).toBe(
        `{"id":"${id}","count":12345678901234567890,"ratio":0.25,"tags":["a"],"_pipeline":{"version":"${result.version}"}}`,
      );
      const text = fromText.regions[region] as { shardId: string; sequenceNumber: string };
      expect(await decryptIn(region, await readBack(region, text.shardId, text.sequenceNumber))).toBe(
        `{"id":"${id}-text","exact":1.2345678901234567890123456789012345678,"_pipeline":{"version":"${fromText.version}"}}`,
      );
    }
  });

  it('puts records encrypted on ENCRYPT_THREADS worker threads that each region decrypts with its own key', async () => {
    // Prepare
    const producer = await producerCore({ encryptThreads: 2 });
    const ids = Array.from({ length: 20 }, (_, index) => `threads-${index}-${randomUUID()}`);

    // Act
    const results = await Promise.all(ids.map((id, index) => producer.ingest({ id, index })));
    await producer.close();

    // Assess
    for (const [index, result] of results.entries()) {
      for (const region of regions) {
        const position = result.regions[region] as { shardId: string; sequenceNumber: string };
        const ciphertext = await readBack(region, position.shardId, position.sequenceNumber);
        expect(JSON.parse(await decryptIn(region, ciphertext))).toEqual({
          id: ids[index],
          index,
          _pipeline: { version: result.version },
        });
      }
    }
  });

  it('returns 503 KMS_UNAVAILABLE when KMS cannot be reached, and nothing is put', async () => {
    // Prepare
    const deadKms = new AwsClients({
      credentials,
      maxAttempts: 1,
      endpoints: { kinesis: endpoints.kinesis!, kms: `http://127.0.0.1:${await getPort()}` },
    });
    app = await producerApp({ clients: deadKms });
    const before = await Promise.all(regions.map(recordsInStream));

    // Act
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => app!.inject({ method: 'POST', url: '/records', payload: { a: 1 } })),
    );

    // Assess
    for (const answer of answers) {
      expect(answer.statusCode).toBe(503);
      expect(answer.json().error.code).toBe('KMS_UNAVAILABLE');
    }
    expect(await Promise.all(regions.map(recordsInStream))).toEqual(before);
    deadKms.destroy();
  });

  it('returns 503 STREAM_UNAVAILABLE naming the region whose stream is down', async () => {
    // Prepare
    const [first, second] = regions as [string, string];
    const oneRegionDown = new AwsClients({
      credentials,
      maxAttempts: 1,
      endpoints: {
        kms: endpoints.kms!,
        kinesis: { [first]: endpoints.kinesis!, [second]: `http://127.0.0.1:${await getPort()}` },
      },
    });
    app = await producerApp({ clients: oneRegionDown });

    // Act
    const response = await app.inject({ method: 'POST', url: '/records', payload: { id: 'down-1' } });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toMatchObject({ code: 'STREAM_UNAVAILABLE', id: 'down-1', regions: [second] });
    oneRegionDown.destroy();
  });

  it.each<[string, (proxy: KmsProxy) => void]>([
    ['stays silent', (proxy) => proxy.switchTo('silent')],
    ['keeps failing', (proxy) => proxy.refuse({}, { answer: { status: 500, type: 'InternalFailure' } })],
  ])(
    'answers 503 within the put timeout naming the region that %s and the one that took the record, then takes it again',
    async (_how, outage) => {
      // Prepare: the second region's Kinesis behind a proxy
      const [first, second] = regions as [string, string];
      const proxy = await KmsProxy.start(endpoints.kinesis!);
      const behindProxy = new AwsClients({
        credentials,
        endpoints: { kms: endpoints.kms!, kinesis: { [first]: endpoints.kinesis!, [second]: proxy.url } },
      });
      app = await producerApp({ clients: behindProxy, requestBudgetMs: 1_500 });
      const id = `outage-${randomUUID()}`;
      outage(proxy);

      // Act
      const during = await app.inject({ method: 'POST', url: '/records', payload: { id } });
      const tries = proxy.refusedCount({ region: second });
      proxy.restore();
      const after = await app.inject({ method: 'POST', url: '/records', payload: { id } });

      // Assess
      expect(during.statusCode).toBe(503);
      expect(during.headers['retry-after']).toBe('1');
      expect(during.json().error).toMatchObject({
        code: 'STREAM_UNAVAILABLE',
        id,
        regions: [second],
        accepted: [first],
      });
      expect(tries).toBeGreaterThanOrEqual(1);
      expect(after.statusCode).toBe(201);
      expect(Object.keys(after.json().regions).sort()).toEqual([...regions].sort());
      await app.close();
      app = undefined;
      behindProxy.destroy();
      await proxy.close();
    },
  );

  it("lists every region's shard map as it starts, before any record, so a first burst is paced", async () => {
    // Prepare: both regions' Kinesis behind a proxy that counts the calls
    const proxy = await KmsProxy.start(endpoints.kinesis!);
    const behindProxy = new AwsClients({ credentials, endpoints: { kms: endpoints.kms!, kinesis: proxy.url } });

    // Act: a producer is created, and nothing is posted
    const producer = await producerCore({ clients: behindProxy });
    for (let attempt = 0; attempt < 100 && proxy.count({ operation: 'ListShards' }) < regions.length; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await producer.close();

    // Assess
    for (const region of regions) expect(proxy.count({ operation: 'ListShards', region })).toBeGreaterThanOrEqual(1);
    expect(proxy.count({ operation: 'PutRecords' })).toBe(0);
    behindProxy.destroy();
    await proxy.close();
  });

  it('retries only the entries a PutRecords call did not take, and writes each record once', async () => {
    // Prepare: the second region's Kinesis throttles every other entry of the next two calls
    const [first, second] = regions as [string, string];
    const proxy = await KmsProxy.start(endpoints.kinesis!);
    const behindProxy = new AwsClients({
      credentials,
      endpoints: { kms: endpoints.kms!, kinesis: { [first]: endpoints.kinesis!, [second]: proxy.url } },
    });
    // A long linger puts all 40 records in one call, and each round of retries in one more.
    const producer = await producerCore({ clients: behindProxy, batching: { lingerMs: 500 } });
    const ids = Array.from({ length: 40 }, () => `partial-${randomUUID()}`);
    proxy.failEveryOtherEntry(2);

    // Act
    const results = await Promise.all(ids.map((id) => producer.ingest({ id })));
    await producer.close();
    const calls = proxy.count({ operation: 'PutRecords' });

    // Assess: 20 of 40 throttled, then 10 of those 20, then the rest taken: three calls or more
    expect(results.every((result) => Object.keys(result.regions).length === 2)).toBe(true);
    expect(calls).toBeGreaterThanOrEqual(3);
    for (const region of regions) {
      const keys = await partitionKeysInStream(region);
      for (const id of ids) expect(keys.filter((key) => key === partitionKey(id))).toHaveLength(1);
    }
    behindProxy.destroy();
    await proxy.close();
  });

  it('answers 2,000 requests at once with 201 or an immediate 503 OVERLOADED, and stores every 201', async () => {
    // Prepare: a real port, at most 100 records in hand
    const producer = await producerCore();
    const logger = pino({ level: 'silent' });
    app = await buildApp({
      logger,
      registry: new Registry(),
      ...producer,
      isReady: () => true,
      bodyLimit: 64 * 1024,
      admission: { maxInFlightRecords: 100, maxInFlightBytes: 64 << 20 },
    });
    // The producer's own listen backlog (LISTEN_BACKLOG), so the burst is answered, not reset.
    await app.listen({ host: '127.0.0.1', port: 0, backlog: 4_096 });
    const { port } = app.server.address() as AddressInfo;
    const ids = Array.from({ length: 2_000 }, () => `load-${randomUUID()}`);

    // Act
    const answers = await Promise.all(
      ids.map(async (id) => {
        const response = await fetch(`http://127.0.0.1:${port}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, pad: 'x'.repeat(200) }),
        });
        const body = (await response.json()) as { error?: { code: string } };
        return { id, status: response.status, code: body.error?.code, retryAfter: response.headers.get('retry-after') };
      }),
    );

    // Assess
    const accepted = answers.filter((answer) => answer.status === 201);
    const turnedAway = answers.filter((answer) => answer.status === 503);
    expect(accepted.length + turnedAway.length).toBe(ids.length);
    expect(accepted.length).toBeGreaterThanOrEqual(100);
    expect(turnedAway.every((answer) => answer.code === 'OVERLOADED' && Number(answer.retryAfter) >= 1)).toBe(true);
    for (const region of regions) {
      const keys = new Set(await partitionKeysInStream(region));
      expect(accepted.filter((answer) => !keys.has(partitionKey(answer.id)))).toEqual([]);
    }
    await producer.close();
  });
});
