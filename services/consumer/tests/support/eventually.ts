import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it returns something other than `undefined`, a bounded number of times.
 * Tests wait on what the consumer did, never on how long it took.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { attempts = 150, delayMs = 100 }: { attempts?: number; delayMs?: number } = {},
): Promise<T> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(delayMs);
  }
  throw new Error(`${what}: not seen after ${attempts} checks`);
}
