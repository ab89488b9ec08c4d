import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/record-json.js';
import {
  compareRecordVersions,
  formatRecordVersion,
  parseRecordVersion,
  type RecordVersion,
} from '../../src/record-version.js';
import { takeRecordVersion, withRecordVersion } from '../../src/versioned-record.js';

describe('Function: formatRecordVersion', () => {
  it('returns fixed-width text that sorts as the versions compare', () => {
    // Prepare: neighbours in every field, including where a wider number sorts first as plain text.
    const versions: RecordVersion[] = [
      { physicalMs: 9, counter: 0, nodeId: 'ffffffff' },
      { physicalMs: 10, counter: 0, nodeId: '00000000' },
      { physicalMs: 10, counter: 9, nodeId: '00000000' },
      { physicalMs: 10, counter: 10, nodeId: '00000000' },
      { physicalMs: 10, counter: 10, nodeId: '0000000a' },
      { physicalMs: 1_764_790_000_000, counter: 999_999, nodeId: 'a1b2c3d4' },
      { physicalMs: Number.MAX_SAFE_INTEGER, counter: 0, nodeId: '00000000' },
    ];

    // Act
    const texts = versions.map(formatRecordVersion);

    // Assess
    for (const [i, a] of versions.entries()) {
      for (const [j, b] of versions.entries()) {
        // DynamoDB compares strings by their UTF-8 bytes: for this ASCII text, as `<` does.
        const plain = texts[i] === texts[j] ? 0 : (texts[i] as string) < (texts[j] as string) ? -1 : 1;
        expect(plain).toBe(compareRecordVersions(a, b));
      }
    }
    expect(texts[5]).toBe('000001764790000000-999999-a1b2c3d4');
  });

  it.each([
    [{ physicalMs: -1, counter: 0, nodeId: 'a1b2c3d4' }],
    [{ physicalMs: 1.5, counter: 0, nodeId: 'a1b2c3d4' }],
    [{ physicalMs: 1, counter: 1_000_000, nodeId: 'a1b2c3d4' }],
    [{ physicalMs: 1, counter: 0, nodeId: 'A1B2C3D4' }],
    [{ physicalMs: 1, counter: 0, nodeId: 'a1b2c3' }],
  ])('throws a RangeError for %o', (version) => {
    // Act & Assess
    expect(() => formatRecordVersion(version)).toThrow(RangeError);
  });
});

describe('Function: parseRecordVersion', () => {
  it.each([
    '',
    '1764790000000-000000-a1b2c3d4',
    '000001764790000000-00000-a1b2c3d4',
    '000001764790000000-000000-A1B2C3D4',
    '000001764790000000-000000-a1b2c3d4 ',
    '999999999999999999-000000-a1b2c3d4',
  ])('returns undefined for %j', (text) => {
    // Act & Assess
    expect(parseRecordVersion(text)).toBeUndefined();
  });
});

describe('Function: takeRecordVersion', () => {
  const VERSION = '000001764790000000-000001-a1b2c3d4';

  it('returns the record without the pipeline attribute, and the version it held', () => {
    // Prepare
    const plaintext = withRecordVersion({ id: 'a', n: 'x' }, '_pipeline', VERSION);

    // Act
    const taken = takeRecordVersion(plaintext, '_pipeline');

    // Assess
    expect(plaintext).toEqual({ id: 'a', n: 'x', _pipeline: { version: VERSION } });
    expect(taken).toEqual({ record: { id: 'a', n: 'x' }, version: VERSION });
  });

  it('returns no version for a record without the attribute, and anything not an object as it is', () => {
    // Act & Assess
    expect(takeRecordVersion({ id: 'a' }, '_pipeline')).toEqual({ record: { id: 'a' }, version: undefined });
    expect(takeRecordVersion([], '_pipeline')).toEqual({ record: [], version: undefined });
  });

  it.each<JsonValue>([null, 'v', [], {}, { version: 'v' }, { version: VERSION, extra: true }])(
    'throws RESERVED_ATTRIBUTE when the attribute holds %j',
    (fields) => {
      // Act & Assess
      expect(() => takeRecordVersion({ id: 'a', _pipeline: fields }, '_pipeline')).toThrow(
        expect.objectContaining({ code: 'RESERVED_ATTRIBUTE' }),
      );
    },
  );
});
