import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { eventually, type StackProcess, startStackProcess } from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The PATH a machine without moto would have: every folder holding a moto_server left out.
const pathWithoutMoto = (process.env.PATH ?? '')
  .split(':')
  .filter((dir) => dir !== '' && !existsSync(join(dir, 'moto_server')))
  .join(':');

describe('Command: pnpm start on a machine without moto', () => {
  let running: StackProcess;
  let clients: AwsClients;

  beforeAll(async () => {
    running = await startStackProcess({ PATH: pathWithoutMoto });
    clients = new AwsClients({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: {
        dynamodb: Object.fromEntries(Object.entries(running.stack.regions).map(([region, e]) => [region, e.dynamodb])),
      },
    });
  });

  afterAll(async () => {
    clients?.destroy();
    expect(await running?.stop()).toBe(0);
  });

  it('says so plainly and wraps data keys under one local AES key per region', () => {
    expect(running.output()).toContain('moto_server is not on PATH');
    expect(running.stack.wrappingKeys).toBe('raw-aes');
    for (const region of Object.keys(running.stack.regions)) {
      expect(existsSync(join(running.directory, 'keys', `${region}.key`))).toBe(true);
      expect(running.stack.regions[region]?.kms).toBeUndefined();
    }
  });

  it('keeps the keys where only their owner can read them', () => {
    expect(statSync(join(running.directory, 'keys')).mode & 0o777).toBe(0o700);
    for (const region of Object.keys(running.stack.regions)) {
      expect(statSync(join(running.directory, 'keys', `${region}.key`)).mode & 0o777).toBe(0o600);
    }
  });

  it('still delivers posted records to every region table', async () => {
    // Act
    const ids = await Promise.all(
      Array.from({ length: 10 }, async (_, index) => {
        const response = await fetch(`${running.stack.producer.url}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ index, note: 'no kms here' }),
        });
        expect(response.status).toBe(201);
        return ((await response.json()) as { id: string }).id;
      }),
    );

    // Assess
    for (const region of Object.keys(running.stack.regions)) {
      for (const [index, id] of ids.entries()) {
        const item = await eventually(async () => {
          const { Item } = await clients
            .dynamodb(region)
            .send(new GetItemCommand({ TableName: running.stack.table, Key: { id: { S: id } } }));
          return Item === undefined ? undefined : unmarshall(Item);
        });
        const { _pipeline, ...record } = item ?? {};
        expect(record).toEqual({ id, index, note: 'no kms here' });
      }
    }
  });
});
