import { ConfigError } from '@records/pipeline-config';
import { describe, expect, it } from 'vitest';
import { loadConsumerConfig } from '../../src/config.js';

describe('Function: loadConsumerConfig', () => {
  it('throws a ConfigError naming REGION when REGION is unset', () => {
    // Prepare
    const env = {};

    // Act
    const load = () => loadConsumerConfig(env);

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', variable: 'REGION', message: 'REGION: is required' }),
    );
  });

  it('throws a ConfigError listing the accepted regions when REGION is not one of REGIONS', () => {
    // Prepare
    const env = { REGIONS: 'us-east-1,eu-west-1', REGION: 'ap-south-1' };

    // Act
    const load = () => loadConsumerConfig(env);

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow('REGION: must be one of REGIONS (us-east-1, eu-west-1), got "ap-south-1"');
  });

  it('returns the region when it is one of custom REGIONS', () => {
    // Prepare
    const env = { REGIONS: 'eu-central-1, ap-south-1', REGION: ' ap-south-1 ' };

    // Act
    const config = loadConsumerConfig(env);

    // Assess
    expect(config.region).toBe('ap-south-1');
    expect(config.pipeline.regions).toEqual(['eu-central-1', 'ap-south-1']);
  });

  it('returns the documented defaults, frozen, when only REGION is set', () => {
    // Prepare
    const env = { REGION: 'eu-west-1' };

    // Act
    const config = loadConsumerConfig(env);

    // Assess
    expect(config).toMatchObject({
      region: 'eu-west-1',
      host: '127.0.0.1',
      port: 3001,
      logLevel: 'info',
      idlePollMs: 250,
      getRecordsLimit: 1000,
      shardDiscoveryIntervalMs: 30_000,
      decryptConcurrency: 16,
      decryptCommitmentPolicy: 'require-encrypt-require-decrypt',
      shutdownGraceMs: 10_000,
    });
    expect(config.pipeline).toMatchObject({
      regions: ['us-east-1', 'eu-west-1'],
      streamName: 'records',
      tableName: 'records',
      deadLetterTableName: 'records-dead-letters',
      wrappingKeys: { kind: 'kms', alias: 'alias/records' },
      maxEncryptedDataKeys: 2,
    });
    // A consumer keeps decrypted data keys ten minutes and never fetches ahead.
    expect(config.pipeline.cache).toMatchObject({ maxAgeSeconds: 600, refreshAhead: false });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.pipeline.cache)).toBe(true);
  });

  it.each([
    ['IDLE_POLL_MS', '199'],
    ['DECRYPT_CONCURRENCY', '0'],
    ['PORT', '65536'],
    ['REGION', 'nowhere-1'],
    ['LOG_LEVEL', 'verbose'],
    ['SHARD_DISCOVERY_INTERVAL_MS', 'soon'],
    ['DECRYPT_COMMITMENT_POLICY', 'forbid-encrypt-allow-decrypt'],
  ])('throws a ConfigError naming %s when it is %s', (variable, value) => {
    // Prepare
    const env = { REGION: 'us-east-1', [variable]: value };

    // Act
    const load = () => loadConsumerConfig(env);

    // Assess
    expect(load).toThrow(expect.objectContaining({ variable }));
  });
});
