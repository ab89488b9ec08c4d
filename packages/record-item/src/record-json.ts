import { isLosslessNumber, type LosslessNumber, parse, stringify } from 'lossless-json';
import { RecordFormatError } from './errors.js';

/** A JSON value as the pipeline carries it: every number is kept as the digits it was written with. */
export type JsonValue = null | boolean | string | LosslessNumber | JsonValue[] | { [key: string]: JsonValue };

// `fatal` refuses malformed UTF-8 instead of replacing it with U+FFFD; a leading BOM is dropped.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a record's bytes without losing anything: invalid UTF-8 is refused rather than replaced,
 * and numbers keep their exact digits (lossless-json, never a JavaScript double). A key given twice
 * with different values is refused, since readers disagree about which one wins.
 */
export function parseRecordJson(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (error) {
    throw new RecordFormatError('INVALID_ENCODING', 'the body is not valid UTF-8', { cause: error });
  }
  try {
    return parse(text) as JsonValue;
  } catch (error) {
    // The parser's message quotes the text (a character, a key, a number): only where and what kind is kept.
    const problem = syntaxProblem(error instanceof Error ? error.message : '', text.length);
    throw new RecordFormatError('INVALID_JSON', `the body is not valid JSON: ${problem}`, { problem });
  }
}

function syntaxProblem(parserMessage: string, length: number): string {
  const position = /at position (\d+)/.exec(parserMessage)?.[1];
  const where = position === undefined ? '' : ` at character ${position}`;
  if (parserMessage.startsWith('Duplicate key')) return `a key is given twice with different values${where}`;
  if (parserMessage.includes('reached end of input') || Number(position) >= length)
    return `the text ends too early${where}`;
  return `unexpected text${where}`;
}

/**
 * Serializes a record, numbers as their exact digits. Accepts what `parseRecordJson` returns, and
 * plain values with `number` or `bigint` numbers.
 */
export function stringifyRecordJson(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new RecordFormatError('INVALID_JSON', 'the record is not a JSON value');
  return text;
}

/** A JSON object (not an array, a number or null). */
export function isJsonObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}
