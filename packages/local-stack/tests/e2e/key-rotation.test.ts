import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { dataKeyOf, eventually, type StackProcess, startStackProcess } from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const motoInstalled = (process.env.PATH ?? '')
  .split(':')
  .some((dir) => dir !== '' && existsSync(join(dir, 'moto_server')));
if (!motoInstalled) console.warn('[e2e] key rotation suite skipped: moto_server is not installed');

const ALIAS = 'alias/records';
const RECORDS = 200;
const BATCH = 10;

describe.skipIf(!motoInstalled)('Command: pnpm start while the key alias is moved to a new key', () => {
  let running: StackProcess;
  let clients: AwsClients;
  let regions: string[];

  beforeAll(async () => {
    // Looks at the alias a second after the last, and data keys that last a second, so the move
    // reaches the producer's new data keys while the records are still flowing.
    running = await startStackProcess({ KEY_ALIAS_REFRESH_MS: '1000', CACHE_MAX_AGE_SECONDS: '1' });
    const byRegion = Object.entries(running.stack.regions);
    regions = byRegion.map(([region]) => region);
    clients = new AwsClients({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: {
        kinesis: Object.fromEntries(byRegion.map(([region, e]) => [region, e.kinesis])),
        dynamodb: Object.fromEntries(byRegion.map(([region, e]) => [region, e.dynamodb])),
        kms: Object.fromEntries(byRegion.map(([region, e]) => [region, e.kms as string])),
      },
    });
  });

  afterAll(async () => {
    clients?.destroy();
    expect(await running?.stop()).toBe(0);
  });

  async function post(records: readonly object[]): Promise<void> {
    const response = await fetch(`${running.stack.producer.url}/records/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: records.map((record) => JSON.stringify(record)).join('\n'),
    });
    expect(response.status).toBe(201);
  }

  async function scan(region: string, table: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, never> | undefined;
    do {
      const page = await clients
        .dynamodb(region)
        .send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start !== undefined);
    return items;
  }

  /** The data keys of every message on the region's stream, as their headers name them. */
  async function dataKeysOnStream(region: string): Promise<string[]> {
    const kinesis = clients.kinesis(region);
    const StreamName = running.stack.stream;
    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName }));
    const keys: string[] = [];
    for (const { ShardId } of Shards) {
      let { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      for (let page = 0; ShardIterator !== undefined && page < 20; page++) {
        const {
          Records = [],
          NextShardIterator,
          MillisBehindLatest,
        } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
        keys.push(...Records.map((record) => dataKeyOf(record.Data ?? new Uint8Array())));
        ShardIterator = MillisBehindLatest === 0 && Records.length === 0 ? undefined : NextShardIterator;
      }
    }
    return keys;
  }

  async function moveAlias(region: string): Promise<string> {
    const kms = clients.kms(region);
    const { KeyMetadata } = await kms.createKey({ Description: 'the next records key' });
    await kms.updateAlias({ AliasName: ALIAS, TargetKeyId: KeyMetadata?.KeyId as string });
    return KeyMetadata?.Arn as string;
  }

  it('stores every record in every region and dead-letters none, the records after the move under the new keys', async () => {
    // Prepare
    const records = Array.from({ length: RECORDS }, (_, index) => ({ id: `rotation-${randomUUID()}`, index }));
    const oldArns = await Promise.all(
      regions.map(async (region) => (await clients.kms(region).describeKey({ KeyId: ALIAS })).KeyMetadata?.Arn),
    );

    // Act: half the records, the alias moved in every region, the other half, in batches as they come
    for (let start = 0; start < RECORDS / 2; start += BATCH) {
      await post(records.slice(start, start + BATCH));
      await sleep(100);
    }
    const newArns = await Promise.all(regions.map((region) => moveAlias(region)));
    for (let start = RECORDS / 2; start < RECORDS; start += BATCH) {
      await post(records.slice(start, start + BATCH));
      await sleep(500);
    }

    // Assess: all stored, none dead-lettered, in each region
    for (const region of regions) {
      await eventually(async () => {
        const stored = new Set((await scan(region, running.stack.table)).map((item) => item.id));
        return records.every((record) => stored.has(record.id)) ? true : undefined;
      });
      expect(await scan(region, running.stack.deadLetterTable)).toEqual([]);
    }
    // The stream held messages under the keys before and after, so the move happened while records flowed.
    for (const [index, region] of regions.entries()) {
      const keys = await dataKeysOnStream(region);
      expect(keys.filter((key) => key.includes(oldArns[index] as string)).length).toBeGreaterThan(0);
      expect(keys.filter((key) => key.includes(newArns[index] as string)).length).toBeGreaterThan(0);
    }
    expect(running.output()).toContain('the key alias points to another key');
    expect(running.output()).not.toContain('record dead-lettered');
  });
});
