import { performance } from 'node:perf_hooks';
import type { CacheRequestEvent } from '@records/data-key-cache';
import type { KmsFixture } from '@records/local-stack/testing';
import { encryptRecord, inParallel, record } from '@records/local-stack/testing';
import { ourManager, type RefreshMode } from './materials-managers.js';
import { atRate, type LatencySummary, summarize } from './pacing.js';

/** How requests arrive: at a fixed rate (open loop), or as fast as a fixed number in flight allows. */
export type Load = { readonly ratePerSecond: number } | { readonly concurrency: number };

export interface LatencyRow extends LatencySummary {
  readonly refresh: string;
  readonly load: string;
  /** Requests after warm-up that waited on KMS (miss or coalesced). */
  readonly waitedOnKms: number;
  readonly requests: number;
  readonly dataKeys: number;
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
  options: { records: number; load: Load; maxMessages: number; refresh: RefreshMode },
): Promise<LatencyRow> {
  const events: CacheRequestEvent[] = [];
  const cmm = ourManager(kms.producerKeyring(), options.maxMessages, options.refresh, (event) => events.push(event));
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
  return {
    refresh: options.maxMessages === NO_KEY_CHANGE ? 'no key change' : options.refresh,
    load: 'ratePerSecond' in load ? `${load.ratePerSecond}/s` : `${load.concurrency} in flight`,
    ...summarize(durations),
    waitedOnKms: events.filter((event) => event.result === 'miss' || event.result === 'coalesced').length,
    requests: options.records,
    dataKeys: kms.proxy.count({ operation: 'GenerateDataKey', region: kms.generatorRegion }),
  };
}
