import {
  boolean,
  ConfigError,
  deepFreeze,
  type EmfSettings,
  type Env,
  integer,
  loadEmfSettings,
  loadPipelineSettings,
  loadServiceSettings,
  oneOf,
  type PipelineSettings,
  regionalEndpoints,
  type ServiceSettings,
} from '@records/pipeline-config';
import { coresAvailable } from './cores.js';

export interface ProducerConfig extends ServiceSettings {
  readonly pipeline: PipelineSettings;
  /**
   * Largest record body accepted, in bytes. Kinesis takes 1 MiB per record and DynamoDB 400 KB per
   * item, but an item can take about 1.5 times the JSON size (arrays of small numbers, for one), so
   * the cap is 256 KiB: a record the producer acknowledges must still fit the table.
   */
  readonly maxRecordBytes: number;
  /** `/metrics` (and `/healthz`) listen here, on HOST, apart from the ingest port; 0 picks a free port. */
  readonly metricsPort: number;
  /**
   * Everything one request waits on (the data key from KMS, encryption, the puts to every region)
   * fits in this; when it runs out the answer is 503 KMS_TIMEOUT or STREAM_UNAVAILABLE, by stage.
   * REQUEST_BUDGET_MS, or PUT_TIMEOUT_MS, its old name, which bounded the puts only.
   */
  readonly requestBudgetMs: number;
  /** Records being ingested at once; past it (or past maxInFlightBytes) the answer is 503 OVERLOADED at once. */
  readonly maxInFlightRecords: number;
  /** Bytes of request bodies being ingested at once. */
  readonly maxInFlightBytes: number;
  /**
   * Connections the kernel queues before the process accepts them. Node's 511 overflows at bursts
   * of a couple of thousand clients, and an overflowed queue resets connections instead of letting
   * them hear 503 OVERLOADED. The kernel caps it at net.core.somaxconn.
   */
  readonly listenBacklog: number;
  /** A client must send its whole request within this time, or its connection is closed. */
  readonly requestTimeoutMs: number;
  /** Bearer tokens that may post records; empty leaves the API open. */
  readonly apiKeys: readonly string[];
  /** With API keys, /metrics asks for one too. */
  readonly metricsRequireApiKey: boolean;
  /**
   * Acknowledging a record while a region is down. `on`: a record is acknowledged once one region's
   * stream took it and every other region has a hand-off entry, delivered later. `off`: only once
   * every region's stream took it.
   */
  readonly handoff: HandoffConfig;
  /** Per-region DynamoDB endpoints (`AWS_ENDPOINT_URL_DYNAMODB_<REGION>`), for the hand-off tables. */
  readonly dynamodbEndpoints?: Readonly<Record<string, string>>;
  /**
   * Per-region Kinesis endpoints (`AWS_ENDPOINT_URL_KINESIS_<REGION>`); a region without one resolves
   * as the SDK does (`AWS_ENDPOINT_URL_KINESIS`). Tests put one region's stream behind a proxy.
   */
  readonly kinesisEndpoints?: Readonly<Record<string, string>>;
  /** MAX_CLOCK_SKEW_MS: the most any two producers' clocks may differ; every 201 waits it out. */
  readonly maxClockSkewMs: number;
  /** CLOCK_CHECK_INTERVAL_MS: how often the clock is measured against the streams'. */
  readonly clockCheckIntervalMs: number;
  /** CLOCK_OFFSET_MS: shifts this process's clock, for tests and drills only. */
  readonly clockOffsetMs: number;
  /** Metrics printed for CloudWatch (embedded metric format) beside the Prometheus endpoint. */
  readonly emf: EmfSettings;
  /** ENCRYPT_THREADS: worker threads that encrypt (and sign); 0 encrypts on the event loop. Default: the cores available. */
  readonly encryptThreads: number;
  /** How records are grouped into PutRecords calls, per region. */
  readonly batching: {
    readonly lingerMs: number;
    /** PUT_MAX_LINGER_MS: while a call is in flight, a batch may keep gathering up to this long (adaptive linger). */
    readonly maxLingerMs: number;
    readonly maxRecords: number;
    readonly maxBytes: number;
    /** What each shard is sent, at most: Kinesis's write limits unless lowered. */
    readonly pacing: { readonly recordsPerSecond: number; readonly bytesPerSecond: number };
  };
}

export interface HandoffConfig {
  readonly enabled: boolean;
  /** How long a region's stream is tried before the record waits for it in hand-off. */
  readonly afterMs: number;
  /** What may wait for one target region, over every table; past it, OVERLOADED. */
  readonly maxRecords: number;
  readonly maxBytes: number;
  /** The repairer's pause between rounds while nothing is left to deliver. */
  readonly repairIntervalMs: number;
  /** How long a repairer's claim holds an entry. */
  readonly claimMs: number;
}

// Long enough that guessing one is hopeless; a key is a secret, so the error never quotes it.
const MIN_API_KEY_LENGTH = 24;

function apiKeys(env: Env): string[] {
  // Not stringList: its duplicate error quotes the whole list, and here every item is a secret.
  // Set but blank (an empty secret, say) is refused, not read as unset: that would open the API.
  if (env.API_KEYS === undefined) return [];
  const keys = env.API_KEYS.split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  if (keys.length === 0) throw new ConfigError('API_KEYS', 'must list at least one key, or be unset');
  const again = keys.findIndex((key, index) => keys.indexOf(key) !== index);
  if (again >= 0) {
    throw new ConfigError('API_KEYS', `key ${again + 1} repeats key ${keys.indexOf(keys[again] as string) + 1}`);
  }
  const short = keys.findIndex((key) => key.length < MIN_API_KEY_LENGTH || /\s/.test(key));
  if (short >= 0) {
    throw new ConfigError(
      'API_KEYS',
      `key ${short + 1} must be at least ${MIN_API_KEY_LENGTH} characters, without spaces`,
    );
  }
  return keys;
}

/** REQUEST_BUDGET_MS when unset; also the budget of a producer core built without one. */
export const DEFAULT_REQUEST_BUDGET_MS = 10_000;
const BUDGET_BOUNDS = { min: 100, max: 60_000 };

function requestBudgetMs(env: Env): number {
  const legacy = integer(env, 'PUT_TIMEOUT_MS', DEFAULT_REQUEST_BUDGET_MS, BUDGET_BOUNDS);
  if (env.REQUEST_BUDGET_MS?.trim() && env.PUT_TIMEOUT_MS?.trim()) {
    throw new ConfigError('PUT_TIMEOUT_MS', 'is the old name of REQUEST_BUDGET_MS: set only REQUEST_BUDGET_MS');
  }
  return integer(env, 'REQUEST_BUDGET_MS', legacy, BUDGET_BOUNDS);
}

/**
 * ENCRYPT_THREADS when unset: a thread for every core the process may use, so encryption (and
 * signing) takes every core while the event loop serves HTTP and the puts; on one core, none (a
 * worker there only adds a hand-off to the same core).
 */
export function defaultEncryptThreads(cores: number): number {
  return cores >= 2 ? cores : 0;
}

// After SIGTERM the producer stops taking requests and lets those in hand finish; each may take its
// whole budget, and closing the clients and the metrics server takes a moment after that.
const SHUTDOWN_AFTER_BUDGET_MS = 5_000;

/** What the producer's defaults read of the machine; tests give their own. */
export interface ProducerSystem {
  /** The cores this process may use (see cores.ts). */
  readonly cores: () => number;
}

export function loadProducerConfig(env: Env, system: ProducerSystem = { cores: coresAvailable }): ProducerConfig {
  const pipeline = loadPipelineSettings(env, { cacheMaxAgeSeconds: 300, refreshAhead: true });
  const dynamodbEndpoints = regionalEndpoints(env, 'DYNAMODB', pipeline.regions);
  const kinesisEndpoints = regionalEndpoints(env, 'KINESIS', pipeline.regions);
  const budgetMs = requestBudgetMs(env);
  const service = loadServiceSettings(env, { port: 3000, shutdownGraceMs: budgetMs + SHUTDOWN_AFTER_BUDGET_MS });
  if (service.shutdownGraceMs <= budgetMs) {
    throw new ConfigError(
      'SHUTDOWN_GRACE_MS',
      `must exceed the request budget (${budgetMs} ms), or requests in hand are cut off at shutdown; got ${service.shutdownGraceMs}`,
    );
  }
  return deepFreeze({
    pipeline,
    ...service,
    maxRecordBytes: integer(env, 'MAX_RECORD_BYTES', 256 * 1024, { min: 16, max: 256 * 1024 }),
    metricsPort: integer(env, 'METRICS_PORT', 9464, { min: 0, max: 65535 }),
    emf: loadEmfSettings(env),
    requestBudgetMs: budgetMs,
    maxInFlightRecords: integer(env, 'MAX_IN_FLIGHT_RECORDS', 1_000, { min: 1, max: 100_000 }),
    maxInFlightBytes: integer(env, 'MAX_IN_FLIGHT_BYTES', 64 * 1024 * 1024, { min: 1024, max: 1024 * 1024 * 1024 }),
    listenBacklog: integer(env, 'LISTEN_BACKLOG', 4_096, { min: 1, max: 65_535 }),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 30_000, { min: 1_000, max: 600_000 }),
    apiKeys: apiKeys(env),
    metricsRequireApiKey: boolean(env, 'METRICS_REQUIRE_API_KEY', false),
    handoff: {
      enabled: oneOf(env, 'HANDOFF', ['on', 'off'], 'on') === 'on',
      afterMs: integer(env, 'HANDOFF_AFTER_MS', 2_000, { min: 100, max: 60_000 }),
      maxRecords: integer(env, 'HANDOFF_MAX_RECORDS', 100_000, { min: 1 }),
      maxBytes: integer(env, 'HANDOFF_MAX_BYTES', 1024 * 1024 * 1024, { min: 1024 }),
      repairIntervalMs: integer(env, 'HANDOFF_REPAIR_INTERVAL_MS', 1_000, { min: 10, max: 60_000 }),
      claimMs: integer(env, 'HANDOFF_CLAIM_MS', 30_000, { min: 1_000, max: 600_000 }),
    },
    ...(dynamodbEndpoints === undefined ? {} : { dynamodbEndpoints }),
    ...(kinesisEndpoints === undefined ? {} : { kinesisEndpoints }),
    maxClockSkewMs: integer(env, 'MAX_CLOCK_SKEW_MS', 50, { min: 1, max: 10_000 }),
    clockCheckIntervalMs: integer(env, 'CLOCK_CHECK_INTERVAL_MS', 10_000, { min: 100, max: 3_600_000 }),
    clockOffsetMs: integer(env, 'CLOCK_OFFSET_MS', 0, { min: -86_400_000, max: 86_400_000 }),
    encryptThreads: integer(env, 'ENCRYPT_THREADS', defaultEncryptThreads(system.cores()), { min: 0, max: 256 }),
    batching: {
      lingerMs: integer(env, 'PUT_LINGER_MS', 20, { min: 0, max: 1_000 }),
      maxLingerMs: integer(env, 'PUT_MAX_LINGER_MS', 50, { min: 0, max: 1_000 }),
      maxRecords: integer(env, 'PUT_BATCH_RECORDS', 500, { min: 1, max: 500 }),
      maxBytes: integer(env, 'PUT_BATCH_BYTES', 5 * 1024 * 1024, { min: 1024, max: 5 * 1024 * 1024 }),
      pacing: {
        recordsPerSecond: integer(env, 'PUT_SHARD_RECORDS_PER_SECOND', 1_000, { min: 1, max: 1_000 }),
        bytesPerSecond: integer(env, 'PUT_SHARD_BYTES_PER_SECOND', 1024 * 1024, { min: 1024, max: 1024 * 1024 }),
      },
    },
  });
}
