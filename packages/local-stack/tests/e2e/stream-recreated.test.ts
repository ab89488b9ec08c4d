import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  waitUntilStreamExists,
  waitUntilStreamNotExists,
} from '@aws-sdk/client-kinesis';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { eventually, type StackProcess, startStackProcess } from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REGION = 'us-east-1';
const SHARD_COUNT = 2;

describe('A stream deleted and created again under the same name, under pnpm start', () => {
  let running: StackProcess;
  let clients: AwsClients;

  beforeAll(async () => {
    running = await startStackProcess({
      REGIONS: REGION,
      SHARD_COUNT: String(SHARD_COUNT),
      LEASE_DURATION_MS: '3000',
    });
    const endpoints = running.stack.regions[REGION];
    clients = new AwsClients({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: {
        dynamodb: { [REGION]: endpoints?.dynamodb as string },
        kinesis: { [REGION]: endpoints?.kinesis as string },
      },
    });
  });
  afterAll(async () => {
    clients?.destroy();
    expect(await running?.stop()).toBe(0);
  });

  async function scan(table: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, never> | undefined;
    do {
      const page = await clients
        .dynamodb(REGION)
        .send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start !== undefined);
    return items;
  }

  /** Posts until the producer takes the batch (it answers 503 while the stream is away). */
  async function post(records: readonly object[]): Promise<void> {
    for (let attempt = 0; attempt < 240; attempt++) {
      const response = await fetch(`${running.stack.producer.url}/records/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: records.map((record) => JSON.stringify(record)).join('\n'),
      });
      if (response.status === 201) return;
      await sleep(500);
    }
    throw new Error('the producer never took the batch');
  }

  const storedAll = async (ids: readonly string[]) => {
    const stored = new Set((await scan(running.stack.table)).map((item) => item.id));
    return ids.every((id) => stored.has(id)) ? true : undefined;
  };

  it("stores every record of the new stream, reading its shards from their start, and removes the old stream's rows", async () => {
    // Prepare: records read to their checkpoints in the first stream
    const before = Array.from({ length: 100 }, (_, index) => ({ id: `old-${randomUUID()}`, index }));
    await post(before);
    await eventually(() => storedAll(before.map((record) => record.id)));
    const oldRows = await scan(running.stack.checkpointTable);
    const kinesis = clients.kinesis(REGION);
    const StreamName = running.stack.stream;

    // Act: the stream is deleted and created again under its name, then records flow into it
    await kinesis.send(new DeleteStreamCommand({ StreamName, EnforceConsumerDeletion: true }));
    await waitUntilStreamNotExists({ client: kinesis, maxWaitTime: 60 }, { StreamName });
    await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: SHARD_COUNT }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 60 }, { StreamName });
    const after = Array.from({ length: 100 }, (_, index) => ({ id: `new-${randomUUID()}`, index }));
    await post(after);

    // Assess: every record of the new stream stored; each row names the new stream and moved on
    await eventually(() => storedAll(after.map((record) => record.id)), 240, 500);
    const identities = new Set(oldRows.map((row) => row.streamIdentity));
    expect(identities.size).toBe(1);
    await eventually(async () => {
      const rows = await scan(running.stack.checkpointTable);
      const renewed = rows.every((row) => row.streamIdentity !== undefined && !identities.has(row.streamIdentity));
      return rows.length === SHARD_COUNT && renewed ? true : undefined;
    });
    expect(running.output()).toContain('lease of an earlier stream of the same name removed');
  });
});
