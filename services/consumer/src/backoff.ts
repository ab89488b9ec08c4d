import { setTimeout as sleep } from 'node:timers/promises';

/** Exponential back-off with full jitter, capped: attempt 1 waits up to `baseMs`, then doubles. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Sleeps, but wakes early (without throwing) when `signal` aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await sleep(ms, undefined, signal === undefined ? undefined : { signal }).catch(() => {});
}
