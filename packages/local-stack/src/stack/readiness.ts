import { setTimeout as sleep } from 'node:timers/promises';
import { LocalStackError } from '../errors.js';

/** Waits until `url` answers 200, e.g. a service's `/readyz`. */
export async function waitUntilReady(name: string, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new LocalStackError('SERVICE_NOT_READY', `${name} did not become ready at ${url} in ${timeoutMs / 1000}s`);
    }
    await sleep(250);
  }
}
