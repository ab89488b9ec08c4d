import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `task` for indexes 0..count-1 at a fixed arrival rate (open loop) and returns each one's
 * latency from when it was due (or sent, if sent early), so a request held up behind a stalled
 * loop shows up as latency.
 */
export async function atRate(count: number, ratePerSecond: number, task: (index: number) => Promise<unknown>) {
  const start = performance.now();
  const pending: Promise<number>[] = [];
  for (let index = 0; index < count; index++) {
    const due = start + (index * 1000) / ratePerSecond;
    const early = due - performance.now();
    if (early > 1) await sleep(early);
    const from = Math.min(due, performance.now());
    pending.push(task(index).then(() => performance.now() - from));
  }
  return Promise.all(pending);
}

export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? Number.NaN;
}

export function summarize(durations: readonly number[]): LatencySummary {
  const sorted = [...durations].sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
