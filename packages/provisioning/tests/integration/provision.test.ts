import { randomUUID } from 'node:crypto';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { AwsClients } from '@records/aws-clients';
import { provisionPipeline } from '@records/provisioning';
import { afterAll, describe, expect, inject, it } from 'vitest';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[provisioning] skipped: moto_server is not installed, so there is no KMS emulator');

describe.skipIf(kmsMissing)('Function: provisionPipeline', () => {
  const clients = new AwsClients({
    endpoints: {
      kinesis: endpoints.kinesis!,
      dynamodb: endpoints.dynamodb!,
      kms: endpoints.kms!,
    },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  afterAll(() => clients.destroy());

  it('creates keys, streams and tables in every region, and changes nothing when run again', async () => {
    // Prepare
    const name = `provision-${randomUUID()}`;
    const options = {
      clients,
      regions,
      streamName: name,
      shardCount: 2,
      tableNames: [name, `${name}-dead-letters`],
      kmsKeyAlias: `alias/${name}`,
    };

    // Act
    const first = await provisionPipeline(options);
    const second = await provisionPipeline(options);

    // Assess
    expect(second).toEqual(first);
    for (const region of regions) {
      const keyArn = first.keyArns?.[region];
      expect(keyArn).toMatch(new RegExp(`^arn:aws:kms:${region}:\\d{12}:key/`));
      const { KeyMetadata } = await clients.kms(region).describeKey({ KeyId: `alias/${name}` });
      expect(KeyMetadata?.Arn).toBe(keyArn);
      const stream = await clients.kinesis(region).send(new DescribeStreamSummaryCommand({ StreamName: name }));
      expect(stream.StreamDescriptionSummary).toMatchObject({ StreamStatus: 'ACTIVE', OpenShardCount: 2 });
      for (const table of options.tableNames) {
        const { Table } = await clients.dynamodb(region).send(new DescribeTableCommand({ TableName: table }));
        expect(Table).toMatchObject({ TableStatus: 'ACTIVE', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
      }
    }
    // Each region's key is its own: the keys are not shared across regions.
    expect(new Set(Object.values(first.keyArns ?? {})).size).toBe(regions.length);
  });
});
