import { randomUUID } from 'node:crypto';
import { type ErrorAnswer, KmsProxy, type KmsProxyMode } from '@records/local-stack/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture, type PutResult } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the KMS outage suite');

/** The data key cache's clock, moved by hand: a back-off window stays open until the test moves it. */
class ManualClock {
  #now = 1_000_000;
  readonly now = () => this.#now;

  advance(ms: number): void {
    this.#now += ms;
  }
}

function events(count: number): { id: string; index: number; payload: string }[] {
  return Array.from({ length: count }, (_, index) => ({ id: `event-${randomUUID()}`, index, payload: `p${index}` }));
}

describe.skipIf(kmsMissing)('Function: createPoller, while KMS is unreachable', () => {
  const region = regions[0] as string;
  let pipeline: PipelineFixture | undefined;
  let proxy: KmsProxy | undefined;
  let consumer: ConsumerHarness | undefined;

  afterEach(async () => {
    await consumer?.stop();
    await proxy?.close();
    pipeline?.close();
    consumer = undefined;
    proxy = undefined;
    pipeline = undefined;
  });

  async function started(options: { cachingProducer: boolean; cacheClock?: () => number }) {
    pipeline = await createPipelineFixture({ shardCount: 2, cachingProducer: options.cachingProducer });
    proxy = await KmsProxy.start(motoEndpoint());
    // The wrapping key is resolved through the proxy before the outage, as a consumer does at start-up.
    consumer = await createConsumerHarness({
      pipeline,
      region,
      kmsEndpoint: proxy.url,
      cacheBackoff: { baseMs: 50, maxMs: 200 },
      ...(options.cacheClock === undefined ? {} : { cacheClock: options.cacheClock }),
    });
    return { fixture: pipeline, proxy, harness: consumer };
  }

  function reader(harness: ConsumerHarness) {
    const value = (name: string, labels: Record<string, string> = {}) =>
      metricValue(harness.registry, name, { region, ...labels });
    return {
      written: () => value('consumer_records_written_total'),
      deadLettered: () => value('consumer_records_dead_lettered_total'),
      read: () => value('consumer_records_read_total'),
      stalled: () => value('consumer_stalled_shards'),
      retries: (shardId?: string) =>
        value('consumer_batch_retries_total', shardId === undefined ? {} : { shard_id: shardId }),
    };
  }

  type Outage = KmsProxyMode | ErrorAnswer;

  it.each<[string, Outage]>([
    ['refuses connections', 'refuse'],
    ['answers 503 like a load balancer', 'unavailable'],
    ['never answers', 'silent'],
    ['answers ExpiredTokenException (expired credentials)', { status: 400, type: 'ExpiredTokenException' }],
    ['answers AccessDeniedException (a key policy)', { status: 400, type: 'AccessDeniedException' }],
    ['answers ThrottlingException', { status: 400, type: 'ThrottlingException' }],
    ['answers 500 KMSInternalException', { status: 500, type: 'KMSInternalException' }],
    ['answers an error no one has heard of', { status: 400, type: 'SomethingNewException' }],
  ])(
    'retries, shows the stall and dead-letters nothing while KMS %s, then writes every record once it is back',
    async (_how, outage) => {
      // Prepare
      const { fixture, proxy, harness } = await started({ cachingProducer: true });
      const metrics = reader(harness);
      const records = events(8);
      const puts: PutResult[] = [];
      for (const [index, record] of records.entries()) {
        puts.push(await fixture.put(region, index % 2, await fixture.encrypt(record)));
      }
      const shardIds = [...new Set(puts.map((put) => put.shardId))];
      if (typeof outage === 'string') proxy.switchTo(outage);
      else proxy.refuse({ operation: 'Decrypt' }, { answer: outage });

      // Act
      harness.poller.start();
      await eventually('both shards retrying, or a record dead-lettered', async () => {
        if ((await metrics.deadLettered()) > 0) return true;
        const retries = await Promise.all(shardIds.map((shardId) => metrics.retries(shardId)));
        return retries.every((count) => count >= 2) ? true : undefined;
      });
      const down = {
        deadLettered: await metrics.deadLettered(),
        deadLetterItems: await fixture.count(region, fixture.deadLetterTableName),
        written: await metrics.written(),
        items: await fixture.count(region, fixture.tableName),
        retries: await metrics.retries(),
        turnedAway: proxy.turnedAway,
        stalled: harness.poller.stalledShards().sort(),
        stalledGauge: await metrics.stalled(),
      };
      proxy.restore();
      await eventually('every record written, or one dead-lettered', async () =>
        (await metrics.written()) + (await metrics.deadLettered()) >= records.length ? true : undefined,
      );

      // Assess
      expect(shardIds).toHaveLength(2);
      expect(down).toMatchObject({ deadLettered: 0, deadLetterItems: 0, written: 0, items: 0 });
      expect(down.retries).toBeGreaterThanOrEqual(4);
      expect(down.turnedAway).toBeGreaterThan(0);
      expect(down.stalled).toEqual([...shardIds].sort());
      expect(down.stalledGauge).toBe(2);
      expect(await metrics.written()).toBe(records.length);
      await eventually('the stall cleared', async () => ((await metrics.stalled()) === 0 ? true : undefined));
      expect(harness.poller.stalledShards()).toEqual([]);
      expect(await metrics.deadLettered()).toBe(0);
      expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(0);
      for (const record of records) expect(await fixture.storedRecord(region, record.id)).toEqual(record);
    },
  );

  it('counts each record once in consumer_records_read_total however often its batch is retried', async () => {
    // Prepare
    const { fixture, proxy, harness } = await started({ cachingProducer: true });
    const metrics = reader(harness);
    const records = events(2);
    for (const record of records) await fixture.put(region, 0, await fixture.encrypt(record));
    proxy.switchTo('refuse');

    // Act
    harness.poller.start();
    await eventually('the batch retried twice', async () => ((await metrics.retries()) >= 2 ? true : undefined));
    proxy.switchTo('forward');
    await eventually('both records written', async () =>
      (await metrics.written()) >= records.length ? true : undefined,
    );

    // Assess
    expect(await metrics.retries()).toBeGreaterThanOrEqual(2);
    expect(await metrics.read()).toBe(records.length);
  });

  it('keeps retrying a record whose data key is still in its back-off window after KMS answers again for another key', async () => {
    // Prepare
    const clock = new ManualClock();
    // Every record gets a data key of its own, so each has its own back-off window in the consumer's cache.
    const { fixture, proxy, harness } = await started({ cachingProducer: false, cacheClock: clock.now });
    const metrics = reader(harness);
    const [stuck, fresh] = events(2) as unknown as [{ id: string }, { id: string }];
    proxy.switchTo('refuse');
    const stuckPut = await fixture.put(region, 0, await fixture.encrypt(stuck));
    harness.poller.start();
    await eventually('the first record retried', async () =>
      (await metrics.retries(stuckPut.shardId)) >= 1 ? true : undefined,
    );
    proxy.switchTo('forward');

    // Act
    await fixture.put(region, 1, await fixture.encrypt(fresh));
    await eventually('the second record written', async () => ((await metrics.written()) >= 1 ? true : undefined));
    const retriesBefore = await metrics.retries(stuckPut.shardId);
    await eventually('the first record tried again', async () =>
      (await metrics.retries(stuckPut.shardId)) > retriesBefore || (await metrics.deadLettered()) > 0
        ? true
        : undefined,
    );
    clock.advance(60_000);
    await eventually('the first record written or dead-lettered', async () =>
      (await metrics.written()) + (await metrics.deadLettered()) >= 2 ? true : undefined,
    );

    // Assess
    expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(0);
    expect(await metrics.deadLettered()).toBe(0);
    expect(await fixture.storedRecord(region, stuck.id)).toEqual(stuck);
    expect(await fixture.storedRecord(region, fresh.id)).toEqual(fresh);
  });
});
