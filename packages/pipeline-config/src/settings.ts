import { AlgorithmSuiteIdentifier } from '@aws-crypto/client-node';
import { boolean, type Env, fraction, integer, oneOf, optionalString, stringList, stringWithDefault } from './env.js';
import { ConfigError } from './errors.js';

export const DEFAULT_REGIONS = ['us-east-1', 'eu-west-1'] as const;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;

/** How often a key alias is resolved again, and how long the keys it named before stay accepted. */
export interface KeyAliasRefreshSettings {
  /** KEY_ALIAS_REFRESH_MS: a key used this long after the alias was last resolved resolves it again. */
  readonly refreshMs: number;
  /** KEY_ALIAS_KEEP_PREVIOUS_MS: a key the alias left still unwraps data keys this long after the move is seen. */
  readonly keepPreviousMs: number;
  /** KMS_RETIRING_KEY_ALIAS: the key this alias names, if any, is accepted for decryption too. */
  readonly retiringAlias: string;
}

/**
 * How data keys are wrapped: under KMS keys, or under local AES keys when no KMS is reachable. An
 * alias (no `keyArns`) is followed when it moves, as `aliasRefresh` says; `keyArns` pin the keys.
 */
export type WrappingKeySettings =
  | {
      readonly kind: 'kms';
      readonly alias: string;
      readonly keyArns?: Readonly<Record<string, string>>;
      readonly aliasRefresh?: KeyAliasRefreshSettings;
    }
  | { readonly kind: 'raw-aes'; readonly keyDirectory: string };

/** The data key cache's bounds, as configured; each service maps them onto the cache's own options. */
export interface CacheSettings {
  /** Cache keys held per operation (encrypt and decrypt each), least recently used out first. */
  readonly capacity: number;
  readonly maxAgeSeconds: number;
  /** Messages one data key may encrypt, at most the SDK's limit of 2^32. */
  readonly maxMessages: number;
  /** Plaintext bytes one data key may encrypt. */
  readonly maxBytes: number;
  /** Fetch the next data key in the background before the current one reaches a bound. */
  readonly refreshAhead: boolean;
  /** Share in (0, 1] of any bound (age, messages, bytes) at which the next data key is fetched. */
  readonly refreshAheadAt: number;
  /** With refresh-ahead: most data keys fetched ahead of the one in use, when the pace needs them. */
  readonly maxKeysAhead: number;
}

export interface PipelineSettings {
  /** The first region generates data keys; every region wraps them. */
  readonly regions: readonly string[];
  readonly streamName: string;
  readonly tableName: string;
  /** Where consumers put records they cannot process, with the reason. */
  readonly deadLetterTableName: string;
  /** The lease table: per shard, its lease (owner, counter, stream identity) and its checkpoint. */
  readonly checkpointTableName: string;
  /** Where producers keep records a region's stream has not taken yet, until they are delivered there. */
  readonly handoffTableName: string;
  /**
   * The one top-level item attribute the pipeline writes beside a record's own (stream, shard,
   * sequence number, arrival time). Records may use every other name.
   */
  readonly pipelineAttribute: string;
  readonly wrappingKeys: WrappingKeySettings;
  readonly cache: CacheSettings;
  /** Undefined keeps the SDK's default suite. */
  readonly algorithmSuite?: AlgorithmSuiteIdentifier;
  readonly maxEncryptedDataKeys: number;
  /**
   * AWS_LEAN_CALLS: the calls made per record or per batch (PutRecords, GetRecords, PutItem) skip
   * the SDK's per-call middleware (see @records/aws-clients); off sends them through the SDK too.
   */
  readonly leanAwsCalls: boolean;
}

export interface ServiceDefaults {
  readonly cacheMaxAgeSeconds: number;
  readonly refreshAhead: boolean;
}

// The SDK's default commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT, fails every encrypt under a
// suite without key commitment, so only the committing suites are accepted.
const SUITE_NAMES = Object.keys(AlgorithmSuiteIdentifier).filter(
  (name) => Number.isNaN(Number(name)) && name.includes('COMMIT_KEY'),
);

function keyArns(env: Env, regions: readonly string[]): Record<string, string> | undefined {
  const arns = optionalString(env, 'KMS_KEY_ARNS');
  if (arns === undefined) return undefined;
  const byRegion: Record<string, string> = {};
  for (const arn of stringList(env, 'KMS_KEY_ARNS', [])) {
    const region = KMS_KEY_ARN.exec(arn)?.[1];
    if (region === undefined)
      throw new ConfigError('KMS_KEY_ARNS', `"${arn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`);
    byRegion[region] = arn;
  }
  const missing = regions.filter((region) => byRegion[region] === undefined);
  if (missing.length > 0) throw new ConfigError('KMS_KEY_ARNS', `has no key for region(s) ${missing.join(', ')}`);
  return byRegion;
}

function wrappingKeys(env: Env, regions: readonly string[]): WrappingKeySettings {
  const kind = oneOf(env, 'WRAPPING_KEYS', ['kms', 'raw-aes'], 'kms');
  if (kind === 'raw-aes') {
    const keyDirectory = optionalString(env, 'RAW_AES_KEY_DIR');
    if (keyDirectory === undefined) throw new ConfigError('RAW_AES_KEY_DIR', 'is required when WRAPPING_KEYS=raw-aes');
    return { kind, keyDirectory };
  }
  const alias = stringWithDefault(env, 'KMS_KEY_ALIAS', 'alias/records');
  if (!alias.startsWith('alias/')) throw new ConfigError('KMS_KEY_ALIAS', `must start with "alias/", got "${alias}"`);
  const arns = keyArns(env, regions);
  if (arns !== undefined) return { kind, alias, keyArns: arns };
  const retiringAlias = stringWithDefault(env, 'KMS_RETIRING_KEY_ALIAS', `${alias}-retiring`);
  if (!retiringAlias.startsWith('alias/') || retiringAlias === alias) {
    throw new ConfigError(
      'KMS_RETIRING_KEY_ALIAS',
      `must start with "alias/" and differ from KMS_KEY_ALIAS, got "${retiringAlias}"`,
    );
  }
  const aliasRefresh = {
    retiringAlias,
    refreshMs: integer(env, 'KEY_ALIAS_REFRESH_MS', 5 * 60_000, { min: 1_000, max: 60 * 60_000 }),
    keepPreviousMs: integer(env, 'KEY_ALIAS_KEEP_PREVIOUS_MS', 24 * 60 * 60_000, {
      min: 0,
      max: 365 * 24 * 60 * 60_000,
    }),
  };
  return { kind, alias, aliasRefresh };
}

// An attribute name DynamoDB accepts at the top level of an item, other than the table's key.
function pipelineAttribute(env: Env): string {
  const name = stringWithDefault(env, 'PIPELINE_ATTRIBUTE', '_pipeline');
  if (name === 'id' || name === '__proto__' || Buffer.byteLength(name) > 255) {
    throw new ConfigError(
      'PIPELINE_ATTRIBUTE',
      `must be an attribute name of 1 to 255 bytes other than id, got "${name}"`,
    );
  }
  return name;
}

/** Parses the settings both services share. Throws ConfigError naming the variable at fault. */
export function loadPipelineSettings(env: Env, defaults: ServiceDefaults): PipelineSettings {
  const regions = stringList(env, 'REGIONS', DEFAULT_REGIONS);
  const suiteName = optionalString(env, 'ALGORITHM_SUITE');
  if (suiteName !== undefined && !SUITE_NAMES.includes(suiteName)) {
    throw new ConfigError('ALGORITHM_SUITE', `must be one of ${SUITE_NAMES.join(', ')}, got "${suiteName}"`);
  }
  const tableName = stringWithDefault(env, 'TABLE_NAME', 'records');
  const settings: PipelineSettings = {
    regions,
    streamName: stringWithDefault(env, 'STREAM_NAME', 'records'),
    tableName,
    deadLetterTableName: stringWithDefault(env, 'DEAD_LETTER_TABLE_NAME', `${tableName}-dead-letters`),
    checkpointTableName: stringWithDefault(env, 'CHECKPOINT_TABLE_NAME', `${tableName}-checkpoints`),
    handoffTableName: stringWithDefault(env, 'HANDOFF_TABLE_NAME', `${tableName}-handoff`),
    pipelineAttribute: pipelineAttribute(env),
    wrappingKeys: wrappingKeys(env, regions),
    cache: {
      capacity: integer(env, 'CACHE_CAPACITY', 100, { min: 1 }),
      maxAgeSeconds: integer(env, 'CACHE_MAX_AGE_SECONDS', defaults.cacheMaxAgeSeconds, { min: 1 }),
      maxMessages: integer(env, 'CACHE_MAX_MESSAGES', 100, { min: 1, max: 2 ** 32 }),
      maxBytes: integer(env, 'CACHE_MAX_BYTES', 100 * 1024 * 1024, { min: 1 }),
      refreshAhead: boolean(env, 'CACHE_REFRESH_AHEAD', defaults.refreshAhead),
      refreshAheadAt: fraction(env, 'CACHE_REFRESH_AHEAD_AT', 0.8),
      maxKeysAhead: integer(env, 'CACHE_MAX_KEYS_AHEAD', 4, { min: 1, max: 64 }),
    },
    maxEncryptedDataKeys: integer(env, 'MAX_ENCRYPTED_DATA_KEYS', regions.length, { min: 1, max: 64 }),
    leanAwsCalls: boolean(env, 'AWS_LEAN_CALLS', true),
    ...(suiteName === undefined
      ? {}
      : { algorithmSuite: AlgorithmSuiteIdentifier[suiteName as keyof typeof AlgorithmSuiteIdentifier] }),
  };
  return deepFreeze(settings);
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
