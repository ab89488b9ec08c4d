import { PipelineError } from '@records/errors';

export class ConsumerError extends PipelineError {}

/** A batch could not be finished for a reason outside the records (KMS or DynamoDB unreachable); retried. */
export class TransientProcessingError extends ConsumerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRANSIENT_FAILURE', message, options);
  }
}
