import { waitForHttp } from '../emulators/emulator.js';
import { LocalStackError } from '../errors.js';

/** Waits until `url` answers 200, e.g. a service's `/readyz`. */
export async function waitUntilReady(name: string, url: string, timeoutMs: number): Promise<void> {
  try {
    await waitForHttp(name, url, { timeoutMs, requireOk: true });
  } catch (error) {
    throw new LocalStackError('SERVICE_NOT_READY', `${name} did not become ready at ${url} in ${timeoutMs / 1000}s`, {
      cause: error,
    });
  }
}
