import type { AwsRequestEvent, AwsRequestObserver } from './request-observer.js';

/**
 * What the last KMS request in each region said about KMS itself. A consumer uses it to tell a
 * record that cannot be decrypted (dead-letter it) from a KMS that cannot be reached (wait).
 */
export class KmsHealth {
  readonly #unavailable = new Map<string, boolean>();

  readonly observer: AwsRequestObserver = (event: AwsRequestEvent) => {
    if (event.service !== 'kms') return;
    this.#unavailable.set(event.region, event.outcome === 'error' && event.transient === true);
  };

  /** True when the most recent KMS request in `region` failed for a transient reason. */
  isUnavailable(region: string): boolean {
    return this.#unavailable.get(region) ?? false;
  }
}

/** Fans one request event out to several observers. */
export function combineObservers(...observers: AwsRequestObserver[]): AwsRequestObserver {
  return (event) => {
    for (const observer of observers) observer(event);
  };
}
