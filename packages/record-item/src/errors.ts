import { PipelineError } from '@records/errors';

export type RecordFormatCode = 'INVALID_ENCODING' | 'INVALID_JSON';

export type RecordItemCode =
  | 'RECORD_NOT_OBJECT'
  | 'MISSING_ID'
  | 'INVALID_RECORD_ID'
  | 'RESERVED_ATTRIBUTE'
  | 'RECORD_NOT_STORABLE';

/**
 * The bytes are not a JSON text: not UTF-8, or not JSON. Neither the message nor `problem` quotes
 * the bytes: they may be a decrypted record.
 */
export class RecordFormatError extends PipelineError {
  /** What is wrong and where, without the text: "a key is given twice with different values, at character 7". */
  readonly problem: string | undefined;

  constructor(code: RecordFormatCode, message: string, options?: { cause?: unknown; problem?: string }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.problem = options?.problem;
  }
}

/**
 * The JSON value cannot become a table item as it is. The message names the path, never a value;
 * `problem`, where set, is the message without the path, whose attribute names are the record's own.
 */
export class RecordItemError extends PipelineError {
  readonly problem: string | undefined;

  constructor(code: RecordItemCode, message: string, options?: { problem?: string }) {
    super(code, message);
    this.problem = options?.problem;
  }
}
