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
});
