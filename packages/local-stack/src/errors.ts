import { PipelineError } from '@records/errors';

export class LocalStackError extends PipelineError {}

/** An emulator did not start listening in time, or exited while starting. */
export class EmulatorStartError extends LocalStackError {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super('EMULATOR_START_FAILED', `${name}: ${message}`, options);
  }
}

/** A local key file or its folder is open to others, or is not what it should be. */
export class UnsafeKeyFileError extends LocalStackError {
  constructor(path: string, message: string) {
    super('UNSAFE_KEY_FILE', `${path} ${message}`);
  }
}
