import { randomUUID } from 'node:crypto';
import { AwsClients, type AwsRequestEvent, combineObservers, createAwsRequestMetrics } from '@records/aws-clients';
import getPort from 'get-port';
import { Registry } from 'prom-client';
import { describe, expect, inject, it } from 'vitest';

const { endpoints, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[aws-clients] KMS observer suite skipped: moto_server is not installed');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe.skipIf(kmsMissing)('Class: AwsClients with a request observer', () => {
  it('counts every KMS request by operation, region and outcome', async () => {
    // Prepare
    const registry = new Registry();
    const clients = new AwsClients({
      credentials,
      endpoints: { kms: endpoints.kms! },
      observer: createAwsRequestMetrics(registry),
    });

    // Act
    const { KeyMetadata } = await clients.kms('eu-west-1').createKey({});
    await clients.kms('eu-west-1').generateDataKey({ KeyId: KeyMetadata?.KeyId, KeySpec: 'AES_256' });
    await expect(clients.kms('eu-west-1').describeKey({ KeyId: `alias/none-${randomUUID()}` })).rejects.toThrow();
    clients.destroy();

    // Assess
    const text = await registry.metrics();
    expect(text).toContain('kms_requests_total{operation="CreateKey",region="eu-west-1",outcome="success"} 1');
    expect(text).toContain('kms_requests_total{operation="GenerateDataKey",region="eu-west-1",outcome="success"} 1');
    expect(text).toContain('kms_requests_total{operation="DescribeKey",region="eu-west-1",outcome="error"} 1');
    expect(text).toContain('kms_request_duration_seconds_count{operation="GenerateDataKey",region="eu-west-1"} 1');
  });

  it('marks network failures transient and refused requests not, seeing every attempt', async () => {
    // Prepare
    const seen: AwsRequestEvent[] = [];
    const events: string[] = [];
    const observer = combineObservers(
      (event) => seen.push(event),
      (event) => events.push(event.outcome),
    );
    const down = new AwsClients({
      credentials,
      maxAttempts: 2,
      endpoints: { kms: `http://127.0.0.1:${await getPort()}` },
      observer,
    });
    const up = new AwsClients({ credentials, endpoints: { kms: endpoints.kms! }, observer });

    // Act
    await expect(down.kms('us-east-1').listKeys({})).rejects.toThrow();
    await expect(up.kms('us-east-1').decrypt({ CiphertextBlob: Buffer.from('not a ciphertext') })).rejects.toThrow();
    await up.kms('us-east-1').listKeys({});
    down.destroy();
    up.destroy();

    // Assess
    expect(seen.map((event) => [event.operation, event.transient ?? false])).toEqual([
      ['ListKeys', true],
      ['ListKeys', true],
      ['Decrypt', false],
      ['ListKeys', false],
    ]);
    expect(events).toEqual(['error', 'error', 'error', 'success']);
  });
});
