import { randomUUID } from 'node:crypto';
import { isJsonObject, type JsonValue, parseRecordJson, recordToItem, stringifyRecordJson } from '@records/record-item';
import { InvalidRecordIdError } from './errors.js';
import { ParsedRecord } from './parsed-record.js';

/** What a client may hand the producer: JSON bytes or text, or a value (numbers may be bigints). */
export type RecordInput = Uint8Array | string | ParsedRecord | JsonValue | Readonly<Record<string, unknown>>;

/** A record ready to encrypt: its id, and its JSON text with every number as it was written. */
export interface PreparedRecord {
  readonly id: string;
  /** The record, checked, with its `id`. */
  readonly value: { readonly [key: string]: JsonValue };
  readonly json: string;
}

// Stricter than a table needs: an id also travels in logs, URLs and error bodies.
const MAX_ID_BYTES = 1024;

function toJsonValue(input: RecordInput): JsonValue {
  if (input instanceof ParsedRecord) return input.value;
  if (input instanceof Uint8Array) return parseRecordJson(input);
  if (typeof input === 'string') return parseRecordJson(Buffer.from(input, 'utf8'));
  // A value from code: round-trip it through JSON text so it is checked exactly as a body is.
  return parseRecordJson(Buffer.from(stringifyRecordJson(input), 'utf8'));
}

function checkId(id: unknown): void {
  if (typeof id !== 'string' || id.trim() === '') {
    throw new InvalidRecordIdError('`id` must be a non-empty string when present');
  }
  if (Buffer.byteLength(id) > MAX_ID_BYTES) {
    throw new InvalidRecordIdError(`\`id\` must be at most ${MAX_ID_BYTES} bytes`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(id)) {
    throw new InvalidRecordIdError('`id` must not contain control characters');
  }
}

/**
 * Validates a record and returns what to encrypt: the record itself, with a new UUID as `id` when
 * it has none. It is checked with the same conversion every consumer writes the item with, so a
 * record that passes here is one every region's table holds, value for value.
 */
export function prepareRecord(input: RecordInput, pipelineAttribute: string): PreparedRecord {
  let record = toJsonValue(input);
  if (isJsonObject(record)) {
    if (Object.hasOwn(record, 'id')) checkId(record.id);
    else record = { ...record, id: randomUUID() };
  }
  const { id } = recordToItem(record, { pipelineAttribute });
  // recordToItem took only an object with an id.
  const value = record as { [key: string]: JsonValue };
  return { id, value, json: stringifyRecordJson(value) };
}
