import { ConfigError } from '@records/pipeline-config';
import { describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.js';

describe('Function: loadProducerConfig', () => {
  it('returns 256 KiB as the largest record when MAX_RECORD_BYTES is unset', () => {
    expect(loadProducerConfig({}).maxRecordBytes).toBe(262144);
  });

  it('throws a ConfigError naming MAX_RECORD_BYTES when it is above 256 KiB', () => {
    // Act
    const act = () => loadProducerConfig({ MAX_RECORD_BYTES: '262145' });

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow('MAX_RECORD_BYTES: must be an integer between 16 and 262144, got "262145"');
  });

  it('returns the documented bounds on time and work in hand when nothing is set', () => {
    expect(loadProducerConfig({})).toMatchObject({
      metricsPort: 9464,
      requestBudgetMs: 10_000,
      shutdownGraceMs: 15_000,
      maxInFlightRecords: 1_000,
      maxInFlightBytes: 64 * 1024 * 1024,
      requestTimeoutMs: 30_000,
    });
  });

  it('returns a thread per core available, a 20 ms linger and a 50 ms adaptive linger bound when nothing is set', () => {
    expect(loadProducerConfig({}, { cores: () => 4 })).toMatchObject({
      encryptThreads: 4,
      batching: { lingerMs: 20, maxLingerMs: 50 },
    });
  });

  it('returns encryption on the event loop when one core is available and nothing is set', () => {
    expect(loadProducerConfig({}, { cores: () => 1 }).encryptThreads).toBe(0);
    expect(loadProducerConfig({ ENCRYPT_THREADS: '2' }, { cores: () => 1 }).encryptThreads).toBe(2);
  });

  it('reads ENCRYPT_THREADS and PUT_MAX_LINGER_MS, and throws a ConfigError naming ENCRYPT_THREADS when negative', () => {
    // Act
    const config = loadProducerConfig({ ENCRYPT_THREADS: '4', PUT_MAX_LINGER_MS: '0' });
    const act = () => loadProducerConfig({ ENCRYPT_THREADS: '-1' });

    // Assess
    expect(config).toMatchObject({ encryptThreads: 4, batching: { maxLingerMs: 0 } });
    expect(act).toThrow(ConfigError);
    expect(act).toThrow('ENCRYPT_THREADS');
  });

  it('returns hand-off on with its documented bounds when nothing is set, and no regional endpoints', () => {
    // Act
    const config = loadProducerConfig({});

    // Assess
    expect(config.handoff).toEqual({
      enabled: true,
      afterMs: 2_000,
      maxRecords: 100_000,
      maxBytes: 1024 * 1024 * 1024,
      repairIntervalMs: 1_000,
      claimMs: 30_000,
    });
    expect(config.pipeline.handoffTableName).toBe('records-handoff');
    expect(config.dynamodbEndpoints).toBeUndefined();
  });

  it('turns hand-off off with HANDOFF=off, and reads one DynamoDB endpoint per region', () => {
    // Act
    const config = loadProducerConfig({
      HANDOFF: 'off',
      AWS_ENDPOINT_URL_DYNAMODB_US_EAST_1: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_DYNAMODB_EU_WEST_1: 'http://127.0.0.1:2',
    });

    // Assess
    expect(config.handoff.enabled).toBe(false);
    expect(config.dynamodbEndpoints).toEqual({ 'us-east-1': 'http://127.0.0.1:1', 'eu-west-1': 'http://127.0.0.1:2' });
  });

  it('reads a Kinesis endpoint for one region only, leaving the others to the SDK', () => {
    // Act
    const config = loadProducerConfig({ AWS_ENDPOINT_URL_KINESIS_EU_WEST_1: 'http://127.0.0.1:3' });

    // Assess
    expect(config.kinesisEndpoints).toEqual({ 'eu-west-1': 'http://127.0.0.1:3' });
    expect(loadProducerConfig({}).kinesisEndpoints).toBeUndefined();
  });

  it('throws a ConfigError naming HANDOFF when it is neither on nor off', () => {
    expect(() => loadProducerConfig({ HANDOFF: 'maybe' })).toThrow('HANDOFF: must be one of on, off, got "maybe"');
  });

  it.each([
    ['REQUEST_BUDGET_MS', '60001'],
    ['PUT_TIMEOUT_MS', '60001'],
    ['MAX_IN_FLIGHT_RECORDS', '0'],
    ['MAX_IN_FLIGHT_BYTES', '10'],
    ['REQUEST_TIMEOUT_MS', 'soon'],
    ['METRICS_PORT', '70000'],
    ['MAX_CLOCK_SKEW_MS', '0'],
    ['CLOCK_CHECK_INTERVAL_MS', '99'],
    ['CLOCK_OFFSET_MS', '86400001'],
  ])('throws a ConfigError naming %s when it is %s', (variable, value) => {
    expect(() => loadProducerConfig({ [variable]: value })).toThrow(expect.objectContaining({ variable }));
  });

  it('takes PUT_TIMEOUT_MS, the old name, as the request budget, and refuses both names at once', () => {
    // Act
    const legacy = loadProducerConfig({ PUT_TIMEOUT_MS: '4000' });
    const both = () => loadProducerConfig({ PUT_TIMEOUT_MS: '4000', REQUEST_BUDGET_MS: '5000' });

    // Assess
    expect(legacy).toMatchObject({ requestBudgetMs: 4_000, shutdownGraceMs: 9_000 });
    expect(loadProducerConfig({ REQUEST_BUDGET_MS: '2500' }).requestBudgetMs).toBe(2_500);
    expect(both).toThrow(expect.objectContaining({ variable: 'PUT_TIMEOUT_MS' }));
  });

  it('throws a ConfigError naming SHUTDOWN_GRACE_MS when it does not exceed the request budget', () => {
    // Act
    const act = () => loadProducerConfig({ REQUEST_BUDGET_MS: '10000', SHUTDOWN_GRACE_MS: '10000' });

    // Assess
    expect(act).toThrow(expect.objectContaining({ variable: 'SHUTDOWN_GRACE_MS' }));
    expect(loadProducerConfig({ REQUEST_BUDGET_MS: '10000', SHUTDOWN_GRACE_MS: '10001' }).shutdownGraceMs).toBe(10_001);
  });

  it('takes API keys as a comma list, and refuses a short one without quoting it', () => {
    // Act
    const config = loadProducerConfig({ API_KEYS: `${'a'.repeat(24)}, ${'b'.repeat(30)}` });
    const short = () => loadProducerConfig({ API_KEYS: `${'a'.repeat(24)},tooshort` });

    // Assess
    expect(config.apiKeys).toEqual(['a'.repeat(24), 'b'.repeat(30)]);
    expect(loadProducerConfig({}).apiKeys).toEqual([]);
    expect(short).toThrow('API_KEYS: key 2 must be at least 24 characters');
    expect(short).not.toThrow('tooshort');
  });

  it('refuses a repeated API key by its positions, without quoting any key, and a set but empty list', () => {
    // Prepare
    const secret = 'c'.repeat(24);

    // Act
    const repeated = () => loadProducerConfig({ API_KEYS: `${secret},${'d'.repeat(24)},${secret}` });
    const empty = () => loadProducerConfig({ API_KEYS: ' , ' });
    const blank = () => loadProducerConfig({ API_KEYS: '' });

    // Assess
    expect(repeated).toThrow(
      expect.objectContaining({ variable: 'API_KEYS', message: 'API_KEYS: key 3 repeats key 1' }),
    );
    expect(empty).toThrow('API_KEYS: must list at least one key');
    expect(blank).toThrow('API_KEYS: must list at least one key');
  });

  it('returns the documented clock settings, and a negative CLOCK_OFFSET_MS as given', () => {
    // Act
    const defaults = loadProducerConfig({});
    const behind = loadProducerConfig({ CLOCK_OFFSET_MS: '-90', MAX_CLOCK_SKEW_MS: '200' });

    // Assess
    expect(defaults).toMatchObject({ maxClockSkewMs: 50, clockCheckIntervalMs: 10_000, clockOffsetMs: 0 });
    expect(behind).toMatchObject({ maxClockSkewMs: 200, clockOffsetMs: -90 });
  });
});
