import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';
import {
  type PostAnswer,
  type ProducerProcess,
  type StreamPosition,
  startProducerProcess,
} from '../support/producer-process.js';

warnIfKmsMissing('the versions suite');

// Above what the loaded emulators take for a put, so a producer within half of it is never proven
// outside; the offsets below put the two producers 180 ms apart, within the bound.
const BOUND_MS = 200;
const CHECK_INTERVAL_MS = 500;

describe.skipIf(kmsMissing)('Versions: real producer processes, real consumers in every region', () => {
  let fixture: PipelineFixture;
  const consumers: ConsumerHarness[] = [];
  const producers: ProducerProcess[] = [];

  async function producer(env: Record<string, string>): Promise<ProducerProcess> {
    const started = await startProducerProcess(fixture, {
      MAX_CLOCK_SKEW_MS: String(BOUND_MS),
      CLOCK_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS),
      ...env,
    });
    producers.push(started);
    return started;
  }

  /**
   * Posts as the README tells a client to: a 503 that says to come back (OVERLOADED, say, while the
   * loaded emulators lag) is retried with the same record after its Retry-After, a few times. Never
   * CLOCK_SKEWED: no producer here may be skewed.
   */
  let retried = 0;
  async function postAsAClient(to: ProducerProcess, record: object): Promise<PostAnswer> {
    for (let attempt = 1; ; attempt++) {
      const answer = await to.post(record);
      if (answer.status !== 503 || answer.code === 'CLOCK_SKEWED' || attempt === 5) return answer;
      retried++;
      await sleep(Number(answer.retryAfter ?? '1') * 1000);
    }
  }

  const stale = (consumer: ConsumerHarness) =>
    metricValue(consumer.registry, 'consumer_stale_writes_skipped_total', { region: consumer.region });

  /** The item of `id` in every region once each holds `n`, or undefined while one does not yet. */
  async function storedEverywhere(id: string, n: number) {
    const items = await Promise.all(regions.map((region) => fixture.item(region, fixture.tableName, id)));
    return items.every((item) => item?.n?.N === String(n)) ? items : undefined;
  }

  beforeAll(async () => {
    fixture = await createPipelineFixture({ shardCount: 2 });
    for (const region of regions) {
      const consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
      consumer.poller.start();
      consumers.push(consumer);
    }
  });

  afterAll(async () => {
    await Promise.all(producers.map((started) => started.stop()));
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    fixture?.close();
  });

  it('changes no item in any region when an old record is put on the stream again after a newer one, and counts the skip', async () => {
    // Prepare
    const posting = await producer({});
    const id = `replay-${randomUUID()}`;
    const first = await posting.post({ id, n: 1 });
    await eventually('version 1 stored everywhere', () => storedEverywhere(id, 1));
    const second = await posting.post({ id, n: 2 });
    await eventually('version 2 stored everywhere', () => storedEverywhere(id, 2));
    const staleBefore = await Promise.all(consumers.map(stale));

    // Act: the bytes at the position the first 201 gave, put on each region's stream again.
    for (const region of regions) {
      const kinesis = fixture.clients.kinesis(region);
      const position = first.regions?.[region] as StreamPosition;
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: fixture.streamName,
          ShardId: position.shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          StartingSequenceNumber: position.sequenceNumber,
        }),
      );
      const [old] = (await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }))).Records ?? [];
      expect(old?.SequenceNumber).toBe(position.sequenceNumber);
      await kinesis.send(
        new PutRecordCommand({ StreamName: fixture.streamName, PartitionKey: old?.PartitionKey, Data: old?.Data }),
      );
    }
    await eventually('the replay skipped in every region', async () => {
      const counts = await Promise.all(consumers.map(stale));
      return counts.every((count, index) => count > (staleBefore[index] ?? 0)) ? counts : undefined;
    });

    // Assess
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((first.version ?? '') < (second.version ?? '')).toBe(true);
    for (const region of regions) {
      const item = await fixture.item(region, fixture.tableName, id);
      expect(item?.n).toEqual({ N: '2' });
      expect(item?._pipeline?.M?.version).toEqual({ S: second.version });
    }
  });

  it('ends every region at version 5 of each of 50 ids posted alternately to two producers 180 ms apart', async () => {
    // Prepare: one producer's clock 90 ms behind, the other's 90 ms ahead. The odd versions, and so
    // the last, go to the one behind: without the commit-wait, version 4 from the one ahead would win.
    const [behind, ahead] = [await producer({ CLOCK_OFFSET_MS: '-90' }), await producer({ CLOCK_OFFSET_MS: '90' })];
    const ids = Array.from({ length: 50 }, (_, index) => `alternate-${index}-${randomUUID()}`);

    // Act: each version of an id posted after the previous one's 201, to the other producer.
    const statuses = await Promise.all(
      ids.map(async (id) => {
        const answers: (number | string)[] = [];
        for (let n = 1; n <= 5; n++) {
          const answer = await postAsAClient(n % 2 === 1 ? behind : ahead, { id, n });
          answers.push(answer.status === 201 ? 201 : `${n}: ${answer.status} ${answer.code}`);
        }
        return answers;
      }),
    );
    expect(statuses.flat().filter((status) => status !== 201)).toEqual([]);
    const stored = await eventually(
      'version 5 of every id stored everywhere',
      async () => {
        const all = await Promise.all(ids.map((id) => storedEverywhere(id, 5)));
        return all.every((items) => items !== undefined) ? all : undefined;
      },
      { attempts: 300 },
    );

    // Assess
    if (retried > 0) console.info(`[versions] ${retried} posts answered 503 and retried, as a client does`);
    expect(stored).toHaveLength(50);
    for (const started of [behind, ahead]) {
      expect(await started.metric('producer_clock_skewed')).toBe(0);
      expect(await started.metric('producer_clock_checks_total{outcome="skewed"}')).toBe(0);
    }
  });

  it('answers 503 CLOCK_SKEWED and is not ready once its check finds its clock far past half the bound', async () => {
    // Prepare: 5 s ahead, with a bound of 200 ms.
    const skewed = await producer({ CLOCK_OFFSET_MS: '5000' });
    const id = `skewed-${randomUUID()}`;
    const first = await skewed.post({ id, n: 1 });
    await eventually('the clock check proved the skew', async () =>
      (await skewed.metric('producer_clock_skewed')) === 1 ? true : undefined,
    );

    // Act
    const refused = await skewed.post({ id, n: 2 });
    const readiness = await skewed.readiness();

    // Assess
    expect(first.status).toBe(201);
    expect(refused).toMatchObject({ status: 503, code: 'CLOCK_SKEWED', retryAfter: '1' });
    expect(readiness).toEqual({ status: 503, code: 'CLOCK_SKEWED' });
    expect(await skewed.metric('producer_clock_offset_seconds')).toBeLessThan(-4.5);
    const item = await eventually('the one accepted record stored everywhere', () => storedEverywhere(id, 1));
    expect(item.map((stored) => stored?._pipeline?.M?.version?.S)).toEqual(regions.map(() => first.version));
  });

  it('measures a skewed producer again by putting its latest record once more, which consumers skip as stale', async () => {
    // Prepare
    const skewed = await producer({ CLOCK_OFFSET_MS: '-5000' });
    const id = `probe-${randomUUID()}`;
    const first = await skewed.post({ id, n: 1 });
    await eventually('the record stored everywhere', () => storedEverywhere(id, 1));
    await eventually('the clock check proved the skew', async () =>
      (await skewed.metric('producer_clock_skewed')) === 1 ? true : undefined,
    );
    const staleBefore = await Promise.all(consumers.map(stale));

    // Act: the producer's own next checks, each after putting the record again.
    await eventually('two more checks proved the skew', async () =>
      (await skewed.metric('producer_clock_checks_total{outcome="skewed"}')) >= 3 ? true : undefined,
    );
    // Put to the region of the call it measured last: a region's consumer skips it there.
    const total = (counts: number[]) => counts.reduce((sum, count) => sum + count, 0);
    await eventually('the repeated record skipped', async () =>
      total(await Promise.all(consumers.map(stale))) > total(staleBefore) ? true : undefined,
    );

    // Assess
    expect(first.status).toBe(201);
    expect(await skewed.metric('producer_clock_offset_seconds')).toBeGreaterThan(4.5);
    for (const region of regions) {
      const stored = await fixture.item(region, fixture.tableName, id);
      expect(stored?._pipeline?.M?.version).toEqual({ S: first.version });
    }
    await skewed.stop();
  });
});
