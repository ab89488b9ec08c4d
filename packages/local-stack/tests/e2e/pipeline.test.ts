import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NodeDefaultCryptographicMaterialsManager } from '@aws-crypto/client-node';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { multiRegionKeyring, RecordEncryptor, resolveWrappingKeys } from '@records/envelope';
import { eventually, type StackProcess, startStackProcess } from '@records/local-stack/testing';
import Big from 'big.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningSockets } from '../support/listening-sockets.js';

function variedRecords(count: number): Record<string, unknown>[] {
  const shapes: Array<(index: number) => Record<string, unknown>> = [
    (index) => ({ id: `e2e-${randomUUID()}`, index, kind: 'flat', ok: true }),
    (index) => ({ index, kind: 'no-id', nothing: null, zero: 0, negative: -42, ratio: 0.1 + 0.2 }),
    (index) => ({
      id: `e2e-unicode-${randomUUID()}`,
      index,
      text: 'héllo wörld ✓ 日本語 🙂 “quotes” \\ backslash \n newline',
      emoji: '👩‍💻',
    }),
    (index) => ({
      id: `e2e-nested-${randomUUID()}`,
      index,
      order: {
        lines: [
          { sku: 'A-1', qty: 2, price: 9.99 },
          { sku: 'B-2', qty: 1, price: 1e-7 },
        ],
        paid: false,
      },
      deep: { a: { b: { c: { d: { e: ['x', 1, true, null, { f: 'g' }] } } } } },
      empties: { list: [], map: {} },
    }),
    (index) => ({
      id: `e2e-numbers-${randomUUID()}`,
      index,
      big: 123456789012345,
      small: -0.000123,
      exp: 6.02e23,
      mixed: [1, 'two', 3.5, false, null],
      empty: '',
    }),
  ];
  return Array.from(
    { length: count },
    (_, index) => (shapes[index % shapes.length] as (i: number) => object)(index) as Record<string, unknown>,
  );
}

async function postRecord(url: string, body: unknown) {
  const response = await fetch(`${url}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function postRaw(url: string, body: string | Buffer) {
  const response = await fetch(`${url}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  return text
    .split('\n')
    .filter(
      (line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('Command: pnpm start (the whole pipeline, as real processes)', () => {
  let running: StackProcess;
  let clients: AwsClients;

  beforeAll(async () => {
    running = await startStackProcess();
    const { regions } = running.stack;
    clients = new AwsClients({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: {
        kinesis: Object.fromEntries(Object.entries(regions).map(([region, e]) => [region, e.kinesis])),
        dynamodb: Object.fromEntries(Object.entries(regions).map(([region, e]) => [region, e.dynamodb])),
        ...(regions[Object.keys(regions)[0] as string]?.kms === undefined
          ? {}
          : { kms: regions[Object.keys(regions)[0] as string]?.kms as string }),
      },
    });
  });

  afterAll(async () => {
    clients?.destroy();
    const code = await running?.stop();
    expect(code).toBe(0);
  });

  const rawItemIn = async (region: string, table: string, id: string) => {
    const { Item } = await clients
      .dynamodb(region)
      .send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }));
    return Item;
  };

  const itemIn = async (region: string, table: string, id: string) => {
    const { Item } = await clients
      .dynamodb(region)
      .send(new GetItemCommand({ TableName: table, Key: { id: { S: id } } }));
    // Large numbers come back as strings and are read as JavaScript numbers, as they were posted.
    return Item === undefined
      ? undefined
      : (unmarshall(Item, { wrapNumbers: (value: string) => Number(value) }) as Record<string, any>);
  };

  it('listens on loopback only, in every process it started', async () => {
    // Act
    const sockets = await listeningSockets(running.pid);

    // Assess: the producer's ingest and metrics ports, both consumers, kinesis-local's two ports,
    // two dynalites, and moto when installed: each seen, each on loopback
    const ports = new Set(sockets.map((socket) => socket.port));
    const expected = [
      running.stack.producer.url,
      running.stack.producer.metricsUrl,
      ...running.stack.consumers.map((consumer) => consumer.url),
      ...Object.values(running.stack.regions).flatMap((endpoints) => [
        endpoints.kinesis,
        endpoints.dynamodb,
        endpoints.kms,
      ]),
    ].flatMap((url) => (url === undefined ? [] : [Number(new URL(url).port)]));
    expect(expected.filter((port) => !ports.has(port))).toEqual([]);
    expect(sockets.length).toBeGreaterThanOrEqual(8);
    expect(sockets.filter((socket) => socket.address !== '127.0.0.1' && socket.address !== '::1')).toEqual([]);
  });

  it('uses KMS when moto is installed, which CI requires', () => {
    // Prepare
    const motoInstalled = (process.env.PATH ?? '')
      .split(':')
      .some((dir) => dir !== '' && existsSync(join(dir, 'moto_server')));

    // Assess
    if (motoInstalled || process.env.CI === 'true') expect(running.stack.wrappingKeys).toBe('kms');
    else expect(running.stack.wrappingKeys).toBe('raw-aes');
    expect(Object.keys(running.stack.regions)).toEqual(['us-east-1', 'eu-west-1']);
  });

  it('writes every posted record, equal to what was posted, to every region table', async () => {
    // Prepare
    const records = variedRecords(60);

    // Act
    const answers = await Promise.all(records.map((record) => postRecord(running.stack.producer.url, record)));

    // Assess
    for (const [index, answer] of answers.entries()) {
      expect(answer.status).toBe(201);
      const posted = records[index] as Record<string, unknown>;
      if (typeof posted.id === 'string') expect(answer.body.id).toBe(posted.id);
      expect(Object.keys(answer.body.regions).sort()).toEqual(['eu-west-1', 'us-east-1']);
    }
    for (const region of Object.keys(running.stack.regions)) {
      for (const [index, answer] of answers.entries()) {
        const expected = { ...records[index], id: answer.body.id };
        const item = await eventually(() => itemIn(region, running.stack.table, answer.body.id));
        // The item is the record, plus the pipeline's one attribute.
        const { _pipeline, ...record } = item;
        expect(record).toEqual(expected);
        expect(_pipeline).toMatchObject({
          stream: 'records',
          region,
          sequenceNumber: answer.body.regions[region].sequenceNumber,
        });
      }
    }
  });

  it('stores every number exactly, digit for digit, in every region', async () => {
    // Prepare: numbers a double cannot hold, 38 significant digits, the extremes of DynamoDB's range
    const numbers: Record<string, string> = {
      past2to53: '12345678901234567',
      negativePast2to64: '-98765432109876543210',
      digits38: '1.2345678901234567890123456789012345678',
      negative38: '-9.9999999999999999999999999999999999999E+125',
      largest: '9.9999999999999999999999999999999999999e125',
      smallest: '1e-130',
      smallestNegative: '-1E-130',
      trailingZeros: '1.50000',
      zero: '0',
    };
    const id = `e2e-exact-${randomUUID()}`;
    const fields = Object.entries(numbers).map(([name, digits]) => `"${name}":${digits}`);
    const body = `{"id":"${id}",${fields.join(',')},"nested":{"list":[${Object.values(numbers).join(',')}]}}`;

    // Act
    const response = await postRaw(running.stack.producer.url, body);

    // Assess
    expect(response.status).toBe(201);
    for (const region of Object.keys(running.stack.regions)) {
      const item = await eventually(() => rawItemIn(region, running.stack.table, id));
      for (const [name, digits] of Object.entries(numbers)) {
        expect(new Big(item[name]?.N ?? 'NaN').eq(new Big(digits)), `${name} in ${region}`).toBe(true);
      }
      const list = item.nested?.M?.list?.L?.map((entry) => entry.N ?? 'NaN') ?? [];
      expect(list.map((stored, index) => new Big(stored).eq(new Big(Object.values(numbers)[index] as string)))).toEqual(
        Object.values(numbers).map(() => true),
      );
    }
  });

  it.each([
    ['a 39-digit number', '{"n":1.23456789012345678901234567890123456789}', 400, 'RECORD_NOT_STORABLE'],
    ['a number below 1e-130', '{"n":1e-400}', 400, 'RECORD_NOT_STORABLE'],
    ['negative zero', '{"n":-0}', 400, 'RECORD_NOT_STORABLE'],
    ['a __proto__ key', '{"deep":{"__proto__":{"x":1}}}', 400, 'RECORD_NOT_STORABLE'],
    ['the reserved attribute', '{"_pipeline":{"stream":"forged"}}', 400, 'RESERVED_ATTRIBUTE'],
  ])('refuses %s with a 400 before anything is acknowledged', async (_name, body, status, code) => {
    // Act
    const response = await postRaw(running.stack.producer.url, body);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ error: { code } });
  });

  it('refuses bytes that are not UTF-8 with 400 INVALID_ENCODING', async () => {
    // Act
    const response = await postRaw(running.stack.producer.url, Buffer.from('{"text":"caf\xe9"}', 'latin1'));

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'INVALID_ENCODING' } });
  });

  it('stores keys named like Object.prototype members exactly, at any depth', async () => {
    // Prepare
    const id = `e2e-keys-${randomUUID()}`;
    const record = {
      id,
      constructor: 'c',
      toString: { hasOwnProperty: ['x', { constructor: { toString: 1 } }] },
      hasOwnProperty: null,
      valueOf: { __defineGetter__: true },
      _id: 'records may use every name but the reserved one',
    };

    // Act
    const response = await postRaw(running.stack.producer.url, JSON.stringify(record));

    // Assess
    expect(response.status).toBe(201);
    for (const region of Object.keys(running.stack.regions)) {
      const item = await eventually(() => itemIn(region, running.stack.table, id));
      const { _pipeline, ...stored } = item;
      expect(JSON.stringify(stored)).toBe(JSON.stringify(record));
    }
  });

  it('shows cache hits and few KMS calls on both services', async () => {
    // Prepare: the 60 records above arrived at once and shared one data key fetch; these come one by one
    for (const record of variedRecords(5))
      expect((await postRecord(running.stack.producer.url, record)).status).toBe(201);

    // Act
    const producerMetrics = await (await fetch(`${running.stack.producer.metricsUrl}/metrics`)).text();
    const consumerMetrics = await Promise.all(
      running.stack.consumers.map(async ({ url }) => (await fetch(`${url}/metrics`)).text()),
    );

    // Assess
    expect(
      metricValue(producerMetrics, 'datakey_cache_requests_total', { operation: 'encrypt', result: 'hit' }),
    ).toBeGreaterThan(0);
    if (running.stack.wrappingKeys === 'kms') {
      const generated = metricValue(producerMetrics, 'kms_requests_total', {
        operation: 'GenerateDataKey',
        region: 'us-east-1',
      });
      expect(generated).toBeGreaterThan(0);
      // The minimum for 65 records at 100 per key is 1; refresh-ahead may fetch up to 4 more
      // (CACHE_MAX_KEYS_AHEAD) when a burst makes keys look short-lived.
      expect(generated).toBeLessThanOrEqual(5);
    }
    for (const [index, text] of consumerMetrics.entries()) {
      const region = running.stack.consumers[index]?.region as string;
      expect(metricValue(text, 'consumer_records_written_total', { region })).toBeGreaterThanOrEqual(60);
      expect(
        metricValue(text, 'datakey_cache_requests_total', { operation: 'decrypt', result: 'hit' }),
      ).toBeGreaterThan(0);
    }
  });

  it('dead-letters, and never writes, a record whose encryption context names another stream', async () => {
    // Prepare
    const [region] = Object.keys(running.stack.regions) as [string];
    const regions = Object.keys(running.stack.regions);
    const kms = (keyRegion: string) => clients.kms(keyRegion);
    const keys = await resolveWrappingKeys({
      settings:
        running.stack.wrappingKeys === 'kms'
          ? { kind: 'kms', alias: 'alias/records' }
          : { kind: 'raw-aes', keyDirectory: join(running.directory, 'keys') },
      regions,
      kms,
    });
    const encryptor = new RecordEncryptor({
      materials: new NodeDefaultCryptographicMaterialsManager(multiRegionKeyring(keys, regions, kms)),
      maxEncryptedDataKeys: regions.length,
    });
    const id = `e2e-wrong-context-${randomUUID()}`;
    const ciphertext = await encryptor.encrypt(Buffer.from(JSON.stringify({ id, secret: 'x' })), 'some-other-stream');

    // Act
    const put = await clients
      .kinesis(region)
      .send(new PutRecordCommand({ StreamName: running.stack.stream, Data: ciphertext, PartitionKey: id }));
    const garbage = await clients.kinesis(region).send(
      new PutRecordCommand({
        StreamName: running.stack.stream,
        Data: Buffer.from('not an encrypted message'),
        PartitionKey: id,
      }),
    );

    // Assess
    const letter = await eventually(() =>
      itemIn(region, running.stack.deadLetterTable, `${put.ShardId}:${put.SequenceNumber}`),
    );
    expect(letter).toMatchObject({ reason: 'CONTEXT_MISMATCH', stream: 'records', region });
    expect(letter.message).not.toContain('secret');
    const garbageLetter = await eventually(() =>
      itemIn(region, running.stack.deadLetterTable, `${garbage.ShardId}:${garbage.SequenceNumber}`),
    );
    expect(garbageLetter).toMatchObject({ reason: 'DECRYPT_FAILED' });
    expect(await itemIn(region, running.stack.table, id)).toBeUndefined();
    expect(running.output()).not.toContain('"secret":"x"');
  });

  it('restarts a consumer killed mid-stream and still delivers what was acknowledged', async () => {
    // Prepare
    const victim = running.stack.consumers[0] as { region: string; pid: number; url: string };
    const readBefore = metricValue(await (await fetch(`${victim.url}/metrics`)).text(), 'consumer_records_read_total', {
      region: victim.region,
    });
    const records = variedRecords(60);

    // Act: records keep arriving, one after another; the consumer dies once it has written some of them
    const answers: Awaited<ReturnType<typeof postRecord>>[] = [];
    let killedAfter = -1;
    for (const record of records) {
      answers.push(await postRecord(running.stack.producer.url, record));
      if (killedAfter >= 0) continue;
      const written = await itemIn(victim.region, running.stack.table, answers[0]?.body.id);
      if (written !== undefined) {
        process.kill(victim.pid, 'SIGKILL');
        killedAfter = answers.length;
      }
    }

    // Assess
    expect(answers.every((answer) => answer.status === 201)).toBe(true);
    expect(killedAfter).toBeGreaterThan(0);
    expect(killedAfter).toBeLessThan(records.length);
    for (const answer of answers) {
      const item = await eventually(() => itemIn(victim.region, running.stack.table, answer.body.id));
      expect(item.id).toBe(answer.body.id);
    }
    expect(running.output()).toContain(`consumer-${victim.region} exited`);
    // The restarted consumer resumed after its checkpoints: it read at most this test's records again,
    // not the shards from their start (every record of this suite so far).
    const metrics = await (await fetch(`${victim.url}/metrics`)).text();
    const readSinceRestart = metricValue(metrics, 'consumer_records_read_total', { region: victim.region });
    expect(readBefore).toBeGreaterThan(records.length);
    expect(readSinceRestart).toBeLessThanOrEqual(records.length);
  });

  it('delivers every record the producer acknowledged when it is stopped with SIGTERM under load', async () => {
    // Prepare
    const producer = running.stack.producer as { url: string; pid: number };
    const records = Array.from({ length: 150 }, (_, index) => ({ id: `e2e-drain-${randomUUID()}`, index }));

    // Act: 150 records in flight, 8 at a time; SIGTERM once a third have been answered
    const answers: { id: string; status: number }[] = [];
    let next = 0;
    let stopped = false;
    const worker = async () => {
      while (next < records.length) {
        const record = records[next++] as { id: string };
        if (!stopped && answers.length >= 50) {
          stopped = true;
          process.kill(producer.pid, 'SIGTERM');
        }
        const status = await postRecord(producer.url, record).then(
          (answer) => answer.status,
          () => 0,
        );
        answers.push({ id: record.id, status });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    // Assess: whatever was answered 201 is in both tables; nothing else was acknowledged
    const acknowledged = answers.filter((answer) => answer.status === 201);
    expect(acknowledged.length).toBeGreaterThanOrEqual(50);
    expect(answers.every((answer) => [201, 503, 0].includes(answer.status))).toBe(true);
    for (const region of Object.keys(running.stack.regions)) {
      for (const { id } of acknowledged) {
        const item = await eventually(() => itemIn(region, running.stack.table, id));
        expect(item.id).toBe(id);
      }
    }
    // It stopped on its own terms (once its drain finished, which may be after the checks above),
    // and the supervisor started it again.
    const exited = await eventually(async () => /producer exited \(code \d+/.exec(running.output())?.[0]).catch(
      () => 'not exited',
    );
    // On failure, the producer's last lines say what its shutdown waited on.
    const producerLines = running
      .output()
      .split('\n')
      .filter((line) => line.startsWith('producer'))
      .slice(-30)
      .join('\n');
    expect(exited, producerLines).toBe('producer exited (code 0');
  });
});
