import { parseRecordJson, RecordFormatError } from '@records/record-item';
import { describe, expect, it } from 'vitest';

const refusal = (text: string | Uint8Array): RecordFormatError => {
  try {
    parseRecordJson(typeof text === 'string' ? Buffer.from(text) : text);
  } catch (error) {
    if (error instanceof RecordFormatError) return error;
    throw error;
  }
  throw new Error('parsed');
};

describe('Function: parseRecordJson', () => {
  it.each([
    ['nope-s3cret', 'INVALID_JSON', 'unexpected text at character 0'],
    ['{"id":"a","s3cret":1,"s3cret":2}', 'INVALID_JSON', 'a key is given twice with different values at character 22'],
    ['{"pin":12s3cret}', 'INVALID_JSON', 'unexpected text at character 9'],
    ['"s3cret\\q"', 'INVALID_JSON', 'unexpected text at character 7'],
    ['{"s3cret":', 'INVALID_JSON', 'the text ends too early at character 10'],
    ['', 'INVALID_JSON', 'the text ends too early at character 0'],
  ])('refuses %j saying where and what kind of problem, quoting none of the text', (text, code, problem) => {
    // Act
    const error = refusal(text);

    // Assess
    expect(error).toMatchObject({ code, problem, message: `the body is not valid JSON: ${problem}` });
    expect(error.cause).toBeUndefined();
    expect(JSON.stringify({ message: error.message, problem: error.problem })).not.toContain('s3cret');
  });

  it('refuses bytes that are not UTF-8 without quoting them', () => {
    // Act
    const error = refusal(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]));

    // Assess
    expect(error).toMatchObject({ code: 'INVALID_ENCODING', message: 'the body is not valid UTF-8' });
  });
});
