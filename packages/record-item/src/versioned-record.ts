import { RecordItemError } from './errors.js';
import { isJsonObject, type JsonValue } from './record-json.js';
import { parseRecordVersion } from './record-version.js';

/** A decrypted record with the pipeline's attribute taken out of it. */
export interface VersionedRecord {
  /** The record as the client posted it. */
  readonly record: JsonValue;
  /** Its version, or undefined for a record from a producer that gave none. */
  readonly version: string | undefined;
}

/**
 * The plaintext the producer encrypts: the record, and under the reserved attribute the pipeline's
 * own fields, `{ "version": "<v>" }`. Inside the ciphertext the version is authenticated with the
 * record; no one can replay a message with a newer version than it was given.
 */
export function withRecordVersion(
  record: { readonly [key: string]: JsonValue },
  pipelineAttribute: string,
  version: string,
): { [key: string]: JsonValue } {
  return { ...record, [pipelineAttribute]: { version } };
}

function refused(pipelineAttribute: string): RecordItemError {
  return new RecordItemError(
    'RESERVED_ATTRIBUTE',
    `the attribute ${JSON.stringify(pipelineAttribute)} must hold exactly a well-formed \`version\``,
  );
}

/**
 * Takes the pipeline's attribute out of a decrypted record. When present it must be an object
 * holding exactly a well-formed `version` string: anything else there is refused, as a record
 * that uses the reserved name is.
 */
export function takeRecordVersion(value: JsonValue, pipelineAttribute: string): VersionedRecord {
  if (!isJsonObject(value) || !Object.hasOwn(value, pipelineAttribute)) return { record: value, version: undefined };
  const { [pipelineAttribute]: fields, ...record } = value;
  if (fields === undefined || !isJsonObject(fields)) throw refused(pipelineAttribute);
  const names = Object.keys(fields);
  const version = fields.version;
  if (names.length !== 1 || typeof version !== 'string' || parseRecordVersion(version) === undefined) {
    throw refused(pipelineAttribute);
  }
  return { record, version };
}
