import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries a start-up step while its dependencies come up (KMS behind a just-started emulator or
 * LocalStack), then gives up so that the supervisor restarts the process.
 */
export async function withStartupRetries<T>(
  logger: { warn(object: object, message: string): void },
  step: string,
  action: () => Promise<T>,
  attempts = 10,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= attempts) throw error;
      const delayMs = Math.min(5_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
      logger.warn({ err: error, attempt, delayMs: Math.round(delayMs) }, `${step} failed; retrying`);
      await sleep(delayMs);
    }
  }
}
