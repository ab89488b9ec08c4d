import { PipelineError } from '@records/errors';

/** A configuration variable is missing or holds a value outside the accepted set. */
export class ConfigError extends PipelineError {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable}: ${message}`);
    this.variable = variable;
  }
}
