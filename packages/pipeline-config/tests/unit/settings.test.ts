import { AlgorithmSuiteIdentifier } from '@aws-crypto/client-node';
import { ConfigError, loadPipelineSettings } from '@records/pipeline-config';
import { describe, expect, it } from 'vitest';

const producerDefaults = { cacheMaxAgeSeconds: 300, refreshAhead: true };

describe('Function: loadPipelineSettings', () => {
  it('returns the documented defaults when nothing is set', () => {
    // Act
    const settings = loadPipelineSettings({}, producerDefaults);

    // Assess
    expect(settings).toEqual({
      regions: ['us-east-1', 'eu-west-1'],
      streamName: 'records',
      tableName: 'records',
      deadLetterTableName: 'records-dead-letters',
      checkpointTableName: 'records-checkpoints',
      handoffTableName: 'records-handoff',
      pipelineAttribute: '_pipeline',
      wrappingKeys: {
        kind: 'kms',
        alias: 'alias/records',
        aliasRefresh: { refreshMs: 300_000, keepPreviousMs: 86_400_000, retiringAlias: 'alias/records-retiring' },
      },
      cache: {
        capacity: 100,
        maxAgeSeconds: 300,
        maxMessages: 100,
        maxBytes: 104857600,
        refreshAhead: true,
        refreshAheadAt: 0.8,
        maxKeysAhead: 4,
      },
      maxEncryptedDataKeys: 2,
      leanAwsCalls: true,
    });
    expect(Object.isFrozen(settings.cache)).toBe(true);
    expect(loadPipelineSettings({ AWS_LEAN_CALLS: 'false' }, producerDefaults).leanAwsCalls).toBe(false);
  });

  it('maps explicit key ARNs to their regions', () => {
    // Prepare
    const env = {
      REGIONS: 'us-east-1, eu-west-1',
      KMS_KEY_ARNS:
        'arn:aws:kms:eu-west-1:111122223333:key/2222aaaa-0000-0000-0000-000000000000,arn:aws:kms:us-east-1:111122223333:key/1111aaaa-0000-0000-0000-000000000000',
    };

    // Act
    const { wrappingKeys } = loadPipelineSettings(env, producerDefaults);

    // Assess
    expect(wrappingKeys).toEqual({
      kind: 'kms',
      alias: 'alias/records',
      keyArns: {
        'us-east-1': 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-0000-0000-0000-000000000000',
        'eu-west-1': 'arn:aws:kms:eu-west-1:111122223333:key/2222aaaa-0000-0000-0000-000000000000',
      },
    });
  });

  it('follows the alias at the intervals given', () => {
    // Act
    const { wrappingKeys } = loadPipelineSettings(
      { KEY_ALIAS_REFRESH_MS: '60000', KEY_ALIAS_KEEP_PREVIOUS_MS: '604800000' },
      producerDefaults,
    );

    // Assess
    expect(wrappingKeys).toMatchObject({ aliasRefresh: { refreshMs: 60_000, keepPreviousMs: 604_800_000 } });
  });

  it('parses an algorithm suite by its SDK name', () => {
    const settings = loadPipelineSettings(
      { ALGORITHM_SUITE: 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY' },
      producerDefaults,
    );
    expect(settings.algorithmSuite).toBe(AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY);
  });

  it('names only the key-committing suites when the suite does not commit to its key', () => {
    // Act
    const act = () =>
      loadPipelineSettings({ ALGORITHM_SUITE: 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256' }, producerDefaults);

    // Assess
    expect(act).toThrow(
      'ALGORITHM_SUITE: must be one of ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY, ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, got "ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256"',
    );
  });

  it.each([
    [{ CACHE_MAX_MESSAGES: '0' }, 'CACHE_MAX_MESSAGES'],
    [{ CACHE_MAX_AGE_SECONDS: '1.5' }, 'CACHE_MAX_AGE_SECONDS'],
    [{ CACHE_REFRESH_AHEAD: 'yes' }, 'CACHE_REFRESH_AHEAD'],
    [{ CACHE_REFRESH_AHEAD_AT: '1.2' }, 'CACHE_REFRESH_AHEAD_AT'],
    [{ CACHE_MAX_KEYS_AHEAD: '0' }, 'CACHE_MAX_KEYS_AHEAD'],
    [{ REGIONS: 'us-east-1,us-east-1' }, 'REGIONS'],
    [{ WRAPPING_KEYS: 'vault' }, 'WRAPPING_KEYS'],
    [{ WRAPPING_KEYS: 'raw-aes' }, 'RAW_AES_KEY_DIR'],
    [{ KMS_KEY_ALIAS: 'records' }, 'KMS_KEY_ALIAS'],
    [{ KMS_KEY_ARNS: 'arn:aws:kms:us-east-1:111122223333:key/abc' }, 'KMS_KEY_ARNS'],
    [{ KMS_KEY_ARNS: 'not-an-arn' }, 'KMS_KEY_ARNS'],
    [{ KEY_ALIAS_REFRESH_MS: '999' }, 'KEY_ALIAS_REFRESH_MS'],
    [{ KEY_ALIAS_REFRESH_MS: '3600001' }, 'KEY_ALIAS_REFRESH_MS'],
    [{ KEY_ALIAS_KEEP_PREVIOUS_MS: '-1' }, 'KEY_ALIAS_KEEP_PREVIOUS_MS'],
    [{ KMS_RETIRING_KEY_ALIAS: 'records-old' }, 'KMS_RETIRING_KEY_ALIAS'],
    [{ KMS_RETIRING_KEY_ALIAS: 'alias/records' }, 'KMS_RETIRING_KEY_ALIAS'],
    [{ ALGORITHM_SUITE: 'AES' }, 'ALGORITHM_SUITE'],
    [{ ALGORITHM_SUITE: 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384' }, 'ALGORITHM_SUITE'],
    [{ MAX_ENCRYPTED_DATA_KEYS: '0' }, 'MAX_ENCRYPTED_DATA_KEYS'],
    [{ AWS_LEAN_CALLS: 'sometimes' }, 'AWS_LEAN_CALLS'],
    [{ PIPELINE_ATTRIBUTE: 'id' }, 'PIPELINE_ATTRIBUTE'],
    [{ PIPELINE_ATTRIBUTE: 'x'.repeat(256) }, 'PIPELINE_ATTRIBUTE'],
  ])('throws a ConfigError naming the variable when %o', (env, variable) => {
    // Act
    const act = () => loadPipelineSettings(env, producerDefaults);

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(new RegExp(`^${variable}: `));
  });
});
