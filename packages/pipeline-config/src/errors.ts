/**
 * Base class for every error the pipeline raises on purpose. `code` is stable and documented in
 * the README; callers branch on it, never on `message`.
 */
export class PipelineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration variable is missing or holds a value outside the accepted set. */
export class ConfigError extends PipelineError {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable}: ${message}`);
    this.variable = variable;
  }
}
