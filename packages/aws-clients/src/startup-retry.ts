import { retry } from '@records/retry';

/**
 * Retries a start-up step while its dependencies come up (KMS behind a just-started emulator or
 * LocalStack), then gives up so that the supervisor restarts the process.
 */
export function withStartupRetries<T>(
  logger: { warn(object: object, message: string): void },
  step: string,
  action: () => Promise<T>,
  attempts = 10,
): Promise<T> {
  return retry(action, {
    attempts,
    minDelayMs: 250,
    maxDelayMs: 5_000,
    onRetry: (error, attempt) => logger.warn({ err: error, attempt }, `${step} failed; retrying`),
  });
}
