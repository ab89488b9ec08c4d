import { randomUUID } from 'node:crypto';
import { KmsProxy } from '@records/local-stack/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { dynamodbEndpoints, kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the stalled lag suite');

describe.skipIf(kmsMissing)('Gauge: consumer_millis_behind_latest, while the table refuses writes', () => {
  const region = regions[0] as string;
  let pipeline: PipelineFixture | undefined;
  let proxy: KmsProxy | undefined;
  let consumer: ConsumerHarness | undefined;

  afterEach(async () => {
    await consumer?.stop();
    await proxy?.close();
    pipeline?.close();
  });

  it('grows while a shard makes no progress, and falls back once its batch is written', async () => {
    // Prepare: one record; every item write refused (the lease table still answers)
    pipeline = await createPipelineFixture({ shardCount: 1 });
    const fixture = pipeline;
    proxy = await KmsProxy.start(dynamodbEndpoints()[region] as string);
    const dynamodb = proxy;
    consumer = await createConsumerHarness({
      pipeline: fixture,
      region,
      kmsEndpoint: motoEndpoint(),
      dynamodbEndpoint: dynamodb.url,
    });
    const harness = consumer;
    const id = `lag-${randomUUID()}`;
    await fixture.put(region, 0, await fixture.encrypt({ id }));
    dynamodb.refuse({ operation: 'PutItem' }, { answer: { status: 500, type: 'InternalServerError' } });
    const lag = () => metricValue(harness.registry, 'consumer_millis_behind_latest', { region });

    // Act
    harness.poller.start();
    await eventually('the shard stalled', () => (harness.poller.stalledShards().length === 1 ? true : undefined));
    const first = await lag();
    const second = await eventually('the lag grown', async () => {
      const now = await lag();
      return now > first ? now : undefined;
    });
    dynamodb.restore();
    await eventually('the record stored', async () => ((await fixture.storedRecord(region, id)) ? true : undefined));
    const after = await eventually('the lag fallen back', async () => {
      const now = await lag();
      return now < second ? now : undefined;
    });

    // Assess
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    expect(after).toBeLessThan(second);
    expect(await metricValue(harness.registry, 'consumer_records_dead_lettered_total', { region })).toBe(0);
  });
});
