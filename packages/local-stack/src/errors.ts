import { PipelineError } from '@records/pipeline-config';

export class LocalStackError extends PipelineError {}

/** An emulator did not start listening in time, or exited while starting. */
export class EmulatorStartError extends LocalStackError {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super('EMULATOR_START_FAILED', `${name}: ${message}`, options);
  }
}
