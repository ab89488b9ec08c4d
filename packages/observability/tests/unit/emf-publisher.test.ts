import { Counter, Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEmfMetrics, createEmfPublisher, type EmfSeries } from '../../src/index.js';

const SERIES: readonly EmfSeries[] = [
  { name: 'lag', from: 'lag_ms', unit: 'Milliseconds', read: 'max' },
  { name: 'stalled', from: 'stalled', unit: 'Count', read: 'sum' },
  { name: 'letters', from: 'letters_total', unit: 'Count', read: 'delta' },
  { name: 'short', from: 'trimmed_total', unit: 'Count', read: 'delta', labels: { read_to_end: 'false' } },
  { name: 'absent', from: 'never_registered', unit: 'Count', read: 'delta' },
];

/** The EMF lines the process printed on stdout since the spy was set, parsed. */
function stdoutLines() {
  const lines: Record<string, unknown>[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) if (line.includes('"_aws"')) lines.push(JSON.parse(line));
    return true;
  });
  return lines;
}

describe('Function: createEmfPublisher', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('prints every interval one EMF line of the gauges now and the counters since the last line, and a last one at stop', async () => {
    // Prepare
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 6) });
    const registry = new Registry();
    const lag = new Gauge({ name: 'lag_ms', help: 'h', labelNames: ['shard_id'], registers: [registry] });
    const stalled = new Gauge({ name: 'stalled', help: 'h', registers: [registry] });
    const letters = new Counter({ name: 'letters_total', help: 'h', labelNames: ['reason'], registers: [registry] });
    const trimmed = new Counter({
      name: 'trimmed_total',
      help: 'h',
      labelNames: ['read_to_end'],
      registers: [registry],
    });
    const lines = stdoutLines();
    const publisher = createEmfPublisher({
      registry,
      series: SERIES,
      metrics: createEmfMetrics({ namespace: 'RecordsPipeline', service: 'consumer' }),
      dimensions: { stream: 'records' },
      intervalMs: 60_000,
      logger: { warn: () => {} },
    });
    lag.set({ shard_id: 'a' }, 1_500);
    lag.set({ shard_id: 'b' }, 250);
    stalled.set(1);
    letters.inc({ reason: 'DECRYPT_FAILED' }, 2);
    letters.inc({ reason: 'MISSING_ID' });
    trimmed.inc({ read_to_end: 'false' });
    trimmed.inc({ read_to_end: 'true' }, 5);

    // Act
    publisher.start();
    await vi.advanceTimersByTimeAsync(60_000);
    letters.inc({ reason: 'DECRYPT_FAILED' });
    stalled.set(0);
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.advanceTimersByTimeAsync(60_000);
    letters.inc({ reason: 'MISSING_ID' }, 4);
    await publisher.stop();
    await vi.advanceTimersByTimeAsync(120_000);

    // Assess
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({
      _aws: {
        Timestamp: Date.UTC(2026, 11, 6) + 60_000,
        CloudWatchMetrics: [
          {
            Namespace: 'RecordsPipeline',
            Dimensions: [['service', 'stream']],
            Metrics: [
              { Name: 'lag', Unit: 'Milliseconds' },
              { Name: 'stalled', Unit: 'Count' },
              { Name: 'letters', Unit: 'Count' },
              { Name: 'short', Unit: 'Count' },
            ],
          },
        ],
      },
      service: 'consumer',
      stream: 'records',
      lag: 1_500,
      stalled: 1,
      letters: 3,
      short: 1,
    });
    expect(lines.slice(1).map(({ lag, stalled, letters, short }) => ({ lag, stalled, letters, short }))).toEqual([
      { lag: 1_500, stalled: 0, letters: 1, short: 0 },
      { lag: 1_500, stalled: 0, letters: 0, short: 0 },
      { lag: 1_500, stalled: 0, letters: 4, short: 0 },
    ]);
  });
});
