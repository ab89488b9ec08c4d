import type { AwsRequestEvent, AwsRequestObserver } from './request-observer.js';

// KMS answers that say KMS cannot be used for now (a key policy, a disabled key), not that one
// request is bad: a consumer waits these out rather than dead-letter the records they hit.
const KMS_UNUSABLE = new Set([
  'AccessDeniedException',
  'DisabledException',
  'KMSInvalidStateException',
  'KeyUnavailableException',
  'DependencyTimeoutException',
]);

/**
 * Counts, per region, the KMS requests that failed because of KMS rather than because of what
 * was asked: throttling, server faults, network errors, an unusable key. A caller that compares
 * the count before and after its own KMS work can tell an outage (the count moved) from a
 * request KMS will never answer (it did not).
 */
export class KmsHealth {
  readonly #failures = new Map<string, number>();

  readonly observer: AwsRequestObserver = (event: AwsRequestEvent) => {
    if (event.service !== 'kms' || event.outcome !== 'error') return;
    if (event.transient === true || (event.errorName !== undefined && KMS_UNUSABLE.has(event.errorName))) {
      this.#failures.set(event.region, this.transientFailures(event.region) + 1);
    }
  };

  /** KMS failures in `region` so far that were not the request's fault. */
  transientFailures(region: string): number {
    return this.#failures.get(region) ?? 0;
  }
}

/** Fans one request event out to several observers. */
export function combineObservers(...observers: AwsRequestObserver[]): AwsRequestObserver {
  return (event) => {
    for (const observer of observers) observer(event);
  };
}
