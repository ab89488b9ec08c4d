import { PipelineError } from '@records/errors';

export type RecordFormatCode = 'INVALID_ENCODING' | 'INVALID_JSON';

export type RecordItemCode =
  | 'RECORD_NOT_OBJECT'
  | 'MISSING_ID'
  | 'INVALID_RECORD_ID'
  | 'RESERVED_ATTRIBUTE'
  | 'RECORD_NOT_STORABLE';

/** The bytes are not a JSON text: not UTF-8, or not JSON. */
export class RecordFormatError extends PipelineError {
  constructor(code: RecordFormatCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The JSON value cannot become a table item as it is. The message names the path, never a value. */
export class RecordItemError extends PipelineError {
  constructor(code: RecordItemCode, message: string) {
    super(code, message);
  }
}
