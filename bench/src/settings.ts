import { availableParallelism } from 'node:os';
import { type Env, integer } from '@records/pipeline-config';
import type { AtLoadRun } from './producer-at-load.js';

export interface BenchSettings {
  readonly short: boolean;
  /** Suites the real services run with: the short run takes the SDK's default only. */
  readonly suites: readonly (
    | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384'
    | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY'
  )[];
  /** Encrypts (and decrypts) per concurrency level and per materials manager. */
  readonly records: number;
  readonly concurrencies: readonly number[];
  readonly maxMessages: number;
  /** Records posted at a steady rate to the real services, per suite. */
  readonly pipelineRecords: number;
  /**
   * Below saturation on a two-core machine that runs every emulator, both consumers and the
   * producer: with the SDK's default (signing) suite the services use about 30 ms of CPU per record
   * between them, so 25/s already takes most of one core.
   */
  readonly pipelineRate: number;
  /** Offered rates of the throughput steps, until one is not kept up with. */
  readonly throughputRates: readonly number[];
  readonly stepSeconds: number;
  /** The whole run stops with an error past this. */
  readonly timeoutSeconds: number;
  /**
   * A producer of its own at load, per suite: 16 POSTs in flight with ENCRYPT_THREADS=0, its AWS
   * calls through the SDK (AWS_LEAN_CALLS=false) and on the lean path, twice in turn;
   * with `--threads` (and in the full run), the first suite also at 64 in flight with 0, 1, 2 and
   * all the cores' encryption threads.
   */
  readonly atLoadRuns: readonly AtLoadRun[];
  readonly threadRuns: readonly AtLoadRun[];
  /** BENCH_PROFILE_DIR: the at-load producers write V8 CPU profiles there. */
  readonly profileDir: string | undefined;
}

/** `--short` finishes in under two minutes; the full run measures everything the README's table shows. */
export function loadBenchSettings(env: Env, args: readonly string[]): BenchSettings {
  const short = args.includes('--short');
  const threads = !short || args.includes('--threads');
  const loadRecords = integer(env, 'BENCH_AT_LOAD_RECORDS', short ? 400 : 2_000, { min: 100, max: 100_000 });
  const threadCounts = [...new Set([0, 1, 2, availableParallelism()])];
  return Object.freeze({
    short,
    suites: Object.freeze(
      short
        ? (['ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384'] as const)
        : ([
            'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384',
            'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY',
          ] as const),
    ),
    records: integer(env, 'BENCH_RECORDS', short ? 1_000 : 10_000, { min: 100, max: 1_000_000 }),
    concurrencies: Object.freeze([1, 16, 256]),
    maxMessages: integer(env, 'BENCH_MAX_MESSAGES', 100, { min: 1, max: 100_000 }),
    pipelineRecords: integer(env, 'BENCH_PIPELINE_RECORDS', short ? 150 : 1_500, { min: 100, max: 100_000 }),
    pipelineRate: integer(env, 'BENCH_PIPELINE_RATE', 25, { min: 1, max: 10_000 }),
    throughputRates: Object.freeze(short ? [100, 400] : [50, 100, 200, 400, 800, 1_600]),
    stepSeconds: short ? 2 : 6,
    timeoutSeconds: integer(env, 'BENCH_TIMEOUT_SECONDS', short ? (threads ? 400 : 240) : 1_800, {
      min: 10,
      max: 3_600,
    }),
    // The same producer with every AWS call through the SDK and on the lean path, twice in turn:
    // the lean path's effect measured side by side in one run, with the spread between repeats.
    atLoadRuns: Object.freeze(
      [1, 2].flatMap(() => [
        { threads: 0, inFlight: 16, records: loadRecords, env: { AWS_LEAN_CALLS: 'false' } },
        { threads: 0, inFlight: 16, records: loadRecords },
      ]),
    ),
    threadRuns: Object.freeze(
      threads ? threadCounts.map((count) => ({ threads: count, inFlight: 64, records: loadRecords })) : [],
    ),
    profileDir: env.BENCH_PROFILE_DIR?.trim() || undefined,
  });
}
