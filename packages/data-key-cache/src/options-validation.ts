import { DataKeyCacheOptionsError } from './errors.js';
import {
  type DataKeyCacheOptions,
  DEFAULT_ADAPTIVE_REFRESH,
  DEFAULT_BACKOFF,
  MAX_KEYS_AHEAD,
  MAX_MESSAGES_PER_DATA_KEY,
} from './options.js';

function integerIn(option: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new DataKeyCacheOptionsError(option, `must be an integer between ${min} and ${max}, got ${value}`);
  }
}

function positive(option: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new DataKeyCacheOptionsError(option, `must be a positive number, got ${value}`);
  }
}

/** Throws DataKeyCacheOptionsError naming the first option outside its bounds. */
export function validateDataKeyCacheOptions(options: DataKeyCacheOptions): void {
  integerIn('capacity', options.capacity, 1, 1_000_000);
  positive('maxAgeSeconds', options.maxAgeSeconds);
  integerIn('maxMessages', options.maxMessages, 1, MAX_MESSAGES_PER_DATA_KEY);
  integerIn('maxBytes', options.maxBytes, 1, Number.MAX_SAFE_INTEGER);
  const share = options.refreshAheadAt;
  if (!Number.isFinite(share) || share <= 0 || share > 1) {
    throw new DataKeyCacheOptionsError('refreshAheadAt', `must be a number in (0, 1], got ${share}`);
  }
  if (options.adaptiveRefresh !== undefined && options.adaptiveRefresh !== false) {
    const {
      latencyMultiple = DEFAULT_ADAPTIVE_REFRESH.latencyMultiple,
      maxKeysAhead = DEFAULT_ADAPTIVE_REFRESH.maxKeysAhead,
    } = options.adaptiveRefresh;
    if (!Number.isFinite(latencyMultiple) || latencyMultiple < 0) {
      throw new DataKeyCacheOptionsError(
        'adaptiveRefresh.latencyMultiple',
        `must be a number of at least 0, got ${latencyMultiple}`,
      );
    }
    integerIn('adaptiveRefresh.maxKeysAhead', maxKeysAhead, 1, MAX_KEYS_AHEAD);
  }
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  positive('backoff.baseMs', backoff.baseMs);
  if (!(backoff.maxMs >= backoff.baseMs)) {
    throw new DataKeyCacheOptionsError('backoff.maxMs', `must be at least backoff.baseMs, got ${backoff.maxMs}`);
  }
  if (options.partition !== undefined && options.partition === '') {
    throw new DataKeyCacheOptionsError('partition', 'must not be empty');
  }
}
