import { type Env, integer } from '@records/pipeline-config';

export interface BenchSettings {
  /** Encrypts (and decrypts) per concurrency level and per materials manager. */
  readonly records: number;
  readonly concurrencies: readonly number[];
  readonly maxMessages: number;
  /** POST /records requests per rate and refresh mode. */
  readonly postRequests: number;
  /**
   * POST /records per second. Each POST puts one record per region; on a two-core machine
   * kinesis-local, moto, the producer and the client together saturate at about 150-200 POST/s;
   * near and past that the latencies measure a growing queue, not KMS.
   */
  readonly postRates: readonly number[];
  /** The whole run stops with an error past this. */
  readonly timeoutSeconds: number;
}

export function loadBenchSettings(env: Env): BenchSettings {
  return Object.freeze({
    records: integer(env, 'BENCH_RECORDS', 10_000, { min: 100, max: 1_000_000 }),
    concurrencies: Object.freeze([1, 16, 256]),
    maxMessages: integer(env, 'BENCH_MAX_MESSAGES', 100, { min: 1, max: 100_000 }),
    postRequests: integer(env, 'BENCH_POST_REQUESTS', 2_000, { min: 100, max: 20_000 }),
    postRates: Object.freeze([50, 100]),
    timeoutSeconds: integer(env, 'BENCH_TIMEOUT_SECONDS', 600, { min: 10, max: 3_600 }),
  });
}
