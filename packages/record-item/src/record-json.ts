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
    const reason = error instanceof Error ? error.message : String(error);
    throw new RecordFormatError('INVALID_JSON', `the body is not valid JSON: ${reason}`, { cause: error });
  }
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
