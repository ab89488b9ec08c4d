import type { JsonValue } from '@records/record-item';

/**
 * A body the HTTP parser has already decoded and parsed with `parseRecordJson`, so ingesting it
 * does not parse it again. Not exported from the package: a value from code goes through the
 * round trip that checks it as a body is checked.
 */
export class ParsedRecord {
  constructor(readonly value: JsonValue) {}
}
