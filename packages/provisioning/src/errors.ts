import { PipelineError } from '@records/errors';

/** A resource could not be created, or did not become active in time. */
export class ProvisioningError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROVISIONING_FAILED', message, options);
  }
}
