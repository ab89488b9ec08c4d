/**
 * Base class for every error the pipeline raises on purpose. `code` is stable and documented in
 * the README; callers branch on it, never on `message`. Each package declares its own errors in
 * its `errors.ts`, on this base.
 */
export class PipelineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Whether `error` is an Error named one of `names`: how the AWS SDK's service exceptions are told
 * apart (`ConditionalCheckFailedException`, `ResourceNotFoundException`, ...) without importing
 * each client's exception classes.
 */
export function hasErrorName(error: unknown, ...names: readonly string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}
