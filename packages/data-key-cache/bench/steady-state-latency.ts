import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheRequestEvent } from '../src/index.js';
import type { KmsFixture } from '../tests/support/kms-fixture.js';
import { encryptRecord, record } from '../tests/support/producer-workload.js';
import { inParallel } from '../tests/support/workload.js';
import { ourManager } from './materials-managers.js';

/** How requests arrive: at a fixed rate (open loop), or as fast as a fixed number in flight allows. */
export type Load = { readonly ratePerSecond: number } | { readonly concurrency: number };

export interface LatencyRow {
  readonly refresh: string;
  readonly load: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Requests after warm-up that waited on KMS (miss or coalesced). */
  readonly waitedOnKms: number;
  readonly requests: number;
  readonly dataKeys: number;
}

function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? Number.NaN;
}

/**
 * Latency of each request from when it was due (or sent, if sent early), so a request held up
 * behind a stalled loop shows up as latency.
 */
async function atRate(records: number, ratePerSecond: number, task: (index: number) => Promise<unknown>) {
  const start = performance.now();
  const pending: Promise<number>[] = [];
  for (let index = 0; index < records; index++) {
    const due = start + (index * 1000) / ratePerSecond;
    const early = due - performance.now();
    if (early > 1) await sleep(early);
    const from = Math.min(due, performance.now());
    pending.push(task(index).then(() => performance.now() - from));
  }
  return Promise.all(pending);
}

function inFlight(records: number, concurrency: number, task: (index: number) => Promise<unknown>) {
  return inParallel(records, concurrency, async (index) => {
    const started = performance.now();
    await task(index);
    return performance.now() - started;
  });
}

/** Messages per data key that no run reaches: the harness's own latency, with no key ever replaced. */
export const NO_KEY_CHANGE = 2 ** 32;

/** Encrypt latency through our manager after a warm-up of (up to) three data keys. */
export async function measureLatency(
  kms: KmsFixture,
  options: { records: number; load: Load; maxMessages: number; refreshAheadAt: number | undefined },
): Promise<LatencyRow> {
  const events: CacheRequestEvent[] = [];
  const refresh =
    options.refreshAheadAt === undefined
      ? { refreshAhead: false }
      : { refreshAhead: true, refreshAheadAt: options.refreshAheadAt };
  const cmm = ourManager(kms.producerKeyring(), options.maxMessages, refresh, (event) => events.push(event));
  const encryptOne = (index: number) => encryptRecord(cmm, record(index));
  await inParallel(Math.min(options.maxMessages * 3, 1_000), 1, encryptOne);
  await cmm.idle();
  events.length = 0;
  kms.proxy.resetCounts();
  const { load } = options;
  const durations =
    'ratePerSecond' in load
      ? await atRate(options.records, load.ratePerSecond, encryptOne)
      : await inFlight(options.records, load.concurrency, encryptOne);
  await cmm.idle();
  cmm.close();
  const sorted = durations.sort((a, b) => a - b);
  return {
    refresh:
      options.maxMessages === NO_KEY_CHANGE
        ? 'no key change'
        : options.refreshAheadAt === undefined
          ? 'off'
          : `at ${options.refreshAheadAt}`,
    load: 'ratePerSecond' in load ? `${load.ratePerSecond}/s` : `${load.concurrency} in flight`,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    waitedOnKms: events.filter((event) => event.result === 'miss' || event.result === 'coalesced').length,
    requests: options.records,
    dataKeys: kms.proxy.count({ operation: 'GenerateDataKey', region: kms.generatorRegion }),
  };
}
