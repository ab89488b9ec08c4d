import { randomUUID } from 'node:crypto';
import { InvalidRecordError } from './errors.js';

/** A JSON object as posted, with its `id` set. */
export type JsonRecord = { readonly id: string } & Readonly<Record<string, unknown>>;

const MAX_ID_BYTES = 1024;
// DynamoDB stores each record as a map: these are its limits, checked here so that a record we
// acknowledge is a record every region's table can hold.
const MAX_DEPTH = 32;
const MAX_NUMBER = 1e126;
const MIN_NUMBER = 1e-130;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkStorable(value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new InvalidRecordError('RECORD_NOT_STORABLE', `${path} is nested deeper than ${MAX_DEPTH} levels`);
  }
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    if (magnitude >= MAX_NUMBER || (magnitude !== 0 && magnitude < MIN_NUMBER)) {
      throw new InvalidRecordError(
        'RECORD_NOT_STORABLE',
        `${path} is outside the storable number range (1e-130 to 1e126)`,
      );
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      checkStorable(item, `${path}[${index}]`, depth + 1);
    });
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '') throw new InvalidRecordError('RECORD_NOT_STORABLE', `${path} has an empty attribute name`);
      checkStorable(item, `${path}.${key}`, depth + 1);
    }
  }
}

/**
 * Validates a parsed request body and returns the record to send: the body itself, with a new
 * UUID as `id` when it has none.
 */
export function prepareRecord(body: unknown): JsonRecord {
  if (!isPlainObject(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body;
    throw new InvalidRecordError('RECORD_NOT_OBJECT', `the body must be a JSON object, got ${kind}`);
  }
  const { id } = body;
  if (id !== undefined) {
    if (typeof id !== 'string' || id.trim() === '') {
      throw new InvalidRecordError('INVALID_RECORD_ID', '`id` must be a non-empty string when present');
    }
    if (Buffer.byteLength(id) > MAX_ID_BYTES) {
      throw new InvalidRecordError('INVALID_RECORD_ID', `\`id\` must be at most ${MAX_ID_BYTES} bytes`);
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(id)) {
      throw new InvalidRecordError('INVALID_RECORD_ID', '`id` must not contain control characters');
    }
  }
  checkStorable(body, '$', 1);
  return (id === undefined ? { ...body, id: randomUUID() } : body) as JsonRecord;
}
