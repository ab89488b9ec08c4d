import { type Env, integer } from '@records/pipeline-config';

export interface BenchSettings {
  /** Encrypts (and decrypts) per concurrency level and per materials manager. */
  readonly records: number;
  readonly concurrencies: readonly number[];
  readonly maxMessages: number;
  /** The whole run stops with an error past this. */
  readonly timeoutSeconds: number;
}

export function loadBenchSettings(env: Env): BenchSettings {
  return Object.freeze({
    records: integer(env, 'BENCH_RECORDS', 40_000, { min: 100, max: 1_000_000 }),
    concurrencies: Object.freeze([1, 16, 256]),
    maxMessages: integer(env, 'BENCH_MAX_MESSAGES', 100, { min: 1, max: 100_000 }),
    timeoutSeconds: integer(env, 'BENCH_TIMEOUT_SECONDS', 900, { min: 10, max: 3_600 }),
  });
}
