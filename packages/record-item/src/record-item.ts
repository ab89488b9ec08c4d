import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import Big from 'big.js';
import { isLosslessNumber } from 'lossless-json';
import { RecordItemError } from './errors.js';
import { isJsonObject, type JsonValue } from './record-json.js';

export type Item = Record<string, AttributeValue>;

export interface RecordItemOptions {
  /** The one top-level attribute the pipeline keeps for itself; a record may not use it. */
  readonly pipelineAttribute: string;
}

export interface RecordItem {
  readonly id: string;
  /** The record's own attributes, exactly; the pipeline's attribute is added by the writer. */
  readonly item: Item;
}

// DynamoDB's limits, as documented: they decide what a record must be for every region's table to
// hold it. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
const MAX_DEPTH = 32;
const MAX_SIGNIFICANT_DIGITS = 38;
const MIN_EXPONENT = -130;
const MAX_EXPONENT = 125;
const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_ITEM_BYTES = 400 * 1024;

function notStorable(path: string, why: string): RecordItemError {
  return new RecordItemError('RECORD_NOT_STORABLE', `${path} ${why}`, { problem: `a value in the record ${why}` });
}

/** A DynamoDB number, checked the way DynamoDB checks it, and sent as the very digits received. */
function toNumber(digits: string, path: string): AttributeValue {
  const value = new Big(digits);
  const isZero = value.c.length === 1 && value.c[0] === 0;
  if (isZero) {
    // A table stores one zero: -0 would come back as 0.
    if (value.s === -1) throw notStorable(path, 'is negative zero, which a table stores as 0');
    return { N: digits };
  }
  if (value.c.length > MAX_SIGNIFICANT_DIGITS) {
    throw notStorable(path, `has more than ${MAX_SIGNIFICANT_DIGITS} significant digits`);
  }
  if (value.e < MIN_EXPONENT || value.e > MAX_EXPONENT) {
    throw notStorable(path, 'is outside the storable number range (magnitude 1e-130 to below 1e126)');
  }
  return { N: digits };
}

function toAttributeValue(value: JsonValue, path: string, depth: number): AttributeValue {
  if (depth > MAX_DEPTH) throw notStorable(path, `is nested deeper than ${MAX_DEPTH} levels`);
  if (value === null) return { NULL: true };
  if (typeof value === 'boolean') return { BOOL: value };
  if (typeof value === 'string') return { S: value };
  if (isLosslessNumber(value)) return toNumber(value.value, path);
  if (Array.isArray(value))
    return { L: value.map((entry, index) => toAttributeValue(entry, `${path}[${index}]`, depth + 1)) };
  if (isJsonObject(value)) return { M: toMap(value, path, depth) };
  throw notStorable(path, `is a ${typeof value}, not a JSON value`);
}

function toMap(value: { [key: string]: JsonValue }, path: string, depth: number): Item {
  // No prototype: names such as `constructor` or `__proto__` are plain attributes here.
  const map: Item = Object.create(null);
  for (const [name, entry] of Object.entries(value)) {
    if (name === '') throw notStorable(path, 'has an empty attribute name');
    // The AWS SDK builds its request from plain objects, where this name sets the prototype.
    if (name === '__proto__') throw notStorable(path, 'has an attribute named __proto__, which the AWS SDK drops');
    map[name] = toAttributeValue(entry, `${path}.${name}`, depth + 1);
  }
  return map;
}

/**
 * The conversion every region's consumer writes a record with, and the producer checks a record
 * with before it answers: what passes here is what the table stores, value for value.
 */
export function recordToItem(record: JsonValue, options: RecordItemOptions): RecordItem {
  if (!isJsonObject(record)) {
    const kind = record === null ? 'null' : Array.isArray(record) ? 'an array' : typeof record;
    throw new RecordItemError(
      'RECORD_NOT_OBJECT',
      `the record must be a JSON object, got ${isLosslessNumber(record) ? 'a number' : kind}`,
    );
  }
  if (Object.hasOwn(record, options.pipelineAttribute)) {
    throw new RecordItemError(
      'RESERVED_ATTRIBUTE',
      `the attribute name ${JSON.stringify(options.pipelineAttribute)} is reserved for the pipeline`,
    );
  }
  if (!Object.hasOwn(record, 'id')) throw new RecordItemError('MISSING_ID', 'the record has no `id`');
  const { id } = record;
  if (typeof id !== 'string' || id === '') {
    throw new RecordItemError('INVALID_RECORD_ID', '`id` must be a non-empty string');
  }
  if (Buffer.byteLength(id) > MAX_PARTITION_KEY_BYTES) {
    throw new RecordItemError('INVALID_RECORD_ID', `\`id\` must be at most ${MAX_PARTITION_KEY_BYTES} bytes`);
  }
  const item = toMap(record, '$', 1);
  const size = itemSize(item);
  if (size > MAX_ITEM_BYTES - PIPELINE_ATTRIBUTE_ALLOWANCE) {
    throw notStorable('$', `would be an item of ${size} bytes; a table holds items up to 400 KB`);
  }
  return { id, item };
}

/** Room kept in every item for the pipeline's own attribute (stream, shard, sequence number, times). */
export const PIPELINE_ATTRIBUTE_ALLOWANCE = 2048;

function numberSize(digits: string): number {
  const value = new Big(digits);
  return Math.ceil(value.c.length / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, entry) => sum + 1 + valueSize(entry), 0);
  if (value.M !== undefined) return 3 + itemSize(value.M) + Object.keys(value.M).length;
  return 0;
}

/** An item's size by DynamoDB's rules: attribute names plus values, with the list and map overheads. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}
