import { randomUUID } from 'node:crypto';
import { KmsProxy } from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kinesisEndpoint, kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';
import { type ProducerProcess, startProducerProcess } from '../support/producer-process.js';

warnIfKmsMissing('the late-retry suite');

const BUDGET_MS = 1_500;

describe.skipIf(kmsMissing)('Late retry: a PutRecords held past its deadline, then let through', () => {
  const [first, second] = regions as [string, string];
  let fixture: PipelineFixture;
  let proxy: KmsProxy;
  let producer: ProducerProcess;
  const consumers: ConsumerHarness[] = [];

  const stale = (consumer: ConsumerHarness) =>
    metricValue(consumer.registry, 'consumer_stale_writes_skipped_total', { region: consumer.region });

  beforeAll(async () => {
    fixture = await createPipelineFixture({ shardCount: 1 });
    proxy = await KmsProxy.start(kinesisEndpoint());
    for (const region of regions) {
      const consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
      consumer.poller.start();
      consumers.push(consumer);
    }
    // The second region's stream behind the proxy; the clock is checked once, after the first put.
    producer = await startProducerProcess(fixture, {
      REQUEST_BUDGET_MS: String(BUDGET_MS),
      [`AWS_ENDPOINT_URL_KINESIS_${second.toUpperCase().replaceAll('-', '_')}`]: proxy.url,
      MAX_CLOCK_SKEW_MS: '200',
      CLOCK_CHECK_INTERVAL_MS: '3600000',
    });
  });

  afterAll(async () => {
    await producer?.stop();
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    await proxy?.close();
    fixture?.close();
  });

  it('keeps the newer version in every region when the older call, refused 503 at its deadline, lands after it', async () => {
    // Prepare: v1's call to the second region is held past the deadline
    const id = `late-${randomUUID()}`;
    proxy.hold({ operation: 'PutRecords', region: second }, { calls: 1 });
    const older = await producer.post({ id, n: 1 });
    const newer = await producer.post({ id, n: 2 });
    await eventually('version 2 stored everywhere', async () => {
      const items = await Promise.all(regions.map((region) => fixture.item(region, fixture.tableName, id)));
      return items.every((item) => item?.n?.N === '2') ? items : undefined;
    });
    const staleBefore = await stale(consumers[1] as ConsumerHarness);

    // Act: the held call is let through after all, as a service that had read it in full may apply
    // an aborted call: v1 lands in the second region's stream after v2
    proxy.release({ evenIfAbandoned: true });
    await eventually('the late v1 skipped in the second region', async () =>
      (await stale(consumers[1] as ConsumerHarness)) > staleBefore ? true : undefined,
    );

    // Assess
    expect(older).toMatchObject({ status: 503, code: 'STREAM_UNAVAILABLE' });
    expect(newer.status).toBe(201);
    expect(proxy.abandonedCount({ operation: 'PutRecords', region: second })).toBe(1);
    for (const region of [first, second]) {
      const item = await fixture.item(region, fixture.tableName, id);
      expect(item?.n).toEqual({ N: '2' });
      expect(item?._pipeline?.M?.version).toEqual({ S: newer.version });
    }
  });
});
