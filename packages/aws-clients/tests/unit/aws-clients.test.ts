import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { AwsClients } from '@records/aws-clients';
import { afterEach, describe, expect, it } from 'vitest';

/** An endpoint that reads every request and never answers; it counts them by X-Amz-Target. */
async function silentEndpoint() {
  const targets: string[] = [];
  const server: Server = createServer((request) => {
    targets.push(String(request.headers['x-amz-target'] ?? ''));
    request.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    targets,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('Class: AwsClients', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const resource of open.splice(0)) await resource.close();
  });

  it('gives each service its own attempts and request timeout, over the defaults', async () => {
    // Prepare
    const endpoint = await silentEndpoint();
    open.push(endpoint);
    const clients = new AwsClients({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: { kinesis: endpoint.url, kms: endpoint.url },
      maxAttempts: 3,
      requestTimeoutMs: 60_000,
      services: { kinesis: { maxAttempts: 1, requestTimeoutMs: 100 }, kms: { maxAttempts: 2, requestTimeoutMs: 100 } },
    });
    open.push({ close: async () => clients.destroy() });

    // Act
    const kinesis = await clients
      .kinesis('us-east-1')
      .send(new ListStreamsCommand({}))
      .catch((error: Error) => error);
    const kinesisCalls = endpoint.targets.length;
    const kms = await clients
      .kms('us-east-1')
      .generateDataKey({ KeyId: 'alias/x', NumberOfBytes: 32 })
      .catch((error: Error) => error);

    // Assess
    expect(kinesis).toMatchObject({ name: 'TimeoutError' });
    expect(kinesisCalls).toBe(1);
    expect(kms).toMatchObject({ name: 'TimeoutError' });
    expect(endpoint.targets.filter((target) => target.endsWith('GenerateDataKey'))).toHaveLength(2);
  });
});
