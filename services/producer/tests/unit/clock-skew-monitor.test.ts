import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createClockMetrics } from '../../src/versions/clock-metrics.js';
import { measureClockOffset } from '../../src/versions/clock-offset.js';
import { ClockSkewMonitor } from '../../src/versions/clock-skew-monitor.js';
import { ManualClock } from '../support/manual-clock.js';

const BOUND = 100;
const landed = { shardId: 'shardId-000000000000', sequenceNumber: '1', data: Uint8Array.of(1), partitionKey: 'k' };

describe('Function: measureClockOffset', () => {
  const sample = { region: 'r', sentAt: 1_000, answeredAt: 1_020, ...landed };

  it.each([
    ['within when the whole interval is inside half the bound', 1_010, 'within'],
    ['skewed when the stream stamped it later than half the bound after the answer', 1_072, 'skewed'],
    ['skewed when the stream stamped it earlier than half the bound before the send', 948, 'skewed'],
    ['uncertain when the interval straddles half the bound', 1_060, 'uncertain'],
  ])('returns %s', (_what, arrivedAt, verdict) => {
    // Act & Assess
    expect(measureClockOffset(sample, arrivedAt, BOUND).verdict).toBe(verdict);
  });

  it('returns bounds widened by the millisecond both clocks round to', () => {
    // Act & Assess
    expect(measureClockOffset(sample, 1_010, BOUND)).toMatchObject({ low: -11, high: 11 });
  });
});

/** A Kinesis client whose records read back stamped `at` (or, unset, `ms` from the producer's clock when read). */
function streamAt(clock: ManualClock, offset: { ms: number; at?: number }) {
  const calls: string[] = [];
  let sequence = 1;
  const client = {
    async send(command: unknown) {
      if (command instanceof PutRecordsCommand) {
        calls.push('PutRecords');
        sequence += 1;
        return { Records: [{ ShardId: landed.shardId, SequenceNumber: String(sequence) }] };
      }
      if (command instanceof GetShardIteratorCommand) {
        calls.push('GetShardIterator');
        return { ShardIterator: command.input.StartingSequenceNumber };
      }
      if (command instanceof GetRecordsCommand) {
        calls.push('GetRecords');
        const at = new Date(offset.at ?? clock.now() + offset.ms);
        return { Records: [{ SequenceNumber: command.input.ShardIterator, ApproximateArrivalTimestamp: at }] };
      }
      throw new Error('unexpected command');
    },
  };
  return { client: client as unknown as KinesisClient, calls };
}

function monitorWith(offsetMs: number) {
  const clock = new ManualClock(1_000_000);
  const offset: { ms: number; at?: number } = { ms: offsetMs };
  const stream = streamAt(clock, offset);
  const registry = new Registry();
  const logger = { warn: () => {}, error: () => {} };
  const monitor = new ClockSkewMonitor({
    clock: { now: clock.now, maxClockSkewMs: BOUND },
    streamName: 'records',
    kinesis: () => stream.client,
    intervalMs: 1_000,
    metrics: createClockMetrics(registry),
    logger,
    timers: clock,
  });
  const put = () => monitor.observer('us-east-1').sent()({ ...landed });
  return { clock, offset, stream, registry, monitor, put };
}

describe('Class: ClockSkewMonitor', () => {
  it('checks soon after the first put lands and stays unskewed within the bound', async () => {
    // Prepare
    const { clock, monitor, put, stream, registry } = monitorWith(10);

    // Act
    put();
    await clock.advance(0);

    // Assess
    expect(stream.calls).toEqual(['GetShardIterator', 'GetRecords']);
    expect(monitor.skewed).toBe(false);
    expect((await registry.getSingleMetric('producer_clock_checks_total')?.get())?.values).toEqual([
      expect.objectContaining({ labels: { outcome: 'within' }, value: 1 }),
    ]);
  });

  it('is skewed once a check proves it, measures again by putting the record once more, and recovers', async () => {
    // Prepare
    const { clock, offset, monitor, put, stream, registry } = monitorWith(5_000);
    put();
    await clock.advance(0);
    const skewedAfterFirst = monitor.skewed;

    // Act: the clock is set right; no new put arrives, the monitor puts the record again itself.
    offset.ms = 0;
    await clock.advance(1_000);

    // Assess
    expect(skewedAfterFirst).toBe(true);
    expect(stream.calls).toEqual(['GetShardIterator', 'GetRecords', 'PutRecords', 'GetShardIterator', 'GetRecords']);
    expect(monitor.skewed).toBe(false);
    const gauge = await registry.getSingleMetric('producer_clock_skewed')?.get();
    expect(gauge?.values[0]?.value).toBe(0);
    // Unskewed with nothing new put, it schedules nothing more.
    expect(clock.pending).toBe(0);
  });

  it('keeps the previous state when a measurement is uncertain', async () => {
    // Prepare: skewed, then proven within again.
    const { clock, offset, monitor, registry } = monitorWith(5_000);
    const first = monitor.observer('us-east-1').sent();
    first({ ...landed });
    await clock.advance(0);
    offset.ms = 0;
    await clock.advance(1_000);
    const recovered = !monitor.skewed;

    // Act: a put whose answer came 300 ms after it was sent, stamped by the stream in between.
    const slow = monitor.observer('us-east-1').sent();
    offset.at = clock.now() + 150;
    await clock.advance(300);
    slow({ ...landed });
    await clock.advance(1_000);

    // Assess
    expect(recovered).toBe(true);
    expect(monitor.skewed).toBe(false);
    const checks = (await registry.getSingleMetric('producer_clock_checks_total')?.get())?.values ?? [];
    expect(checks.find((value) => value.labels.outcome === 'uncertain')?.value).toBe(1);
  });

  it('counts a failed read back and changes nothing', async () => {
    // Prepare
    const clock = new ManualClock();
    const registry = new Registry();
    const failing = new ClockSkewMonitor({
      clock: { now: clock.now, maxClockSkewMs: BOUND },
      streamName: 'records',
      kinesis: () =>
        ({
          send: async () => {
            throw new Error('down');
          },
        }) as unknown as KinesisClient,
      intervalMs: 1_000,
      metrics: createClockMetrics(registry),
      logger: { warn: () => {}, error: () => {} },
      timers: clock,
    });
    failing.observer('us-east-1').sent()({ ...landed });

    // Act
    const outcome = await failing.check();

    // Assess
    expect(outcome).toBe('failed');
    expect(failing.skewed).toBe(false);
    const checks = (await registry.getSingleMetric('producer_clock_checks_total')?.get())?.values ?? [];
    expect(checks.find((value) => value.labels.outcome === 'failed')?.value).toBe(1);
    failing.stop();
  });
});
