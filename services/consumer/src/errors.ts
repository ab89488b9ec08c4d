import { PipelineError } from '@records/errors';

export class ConsumerError extends PipelineError {}

/** A record that can never be written: it goes to the dead-letter table with this code as its reason. */
export class UnprocessableRecordError extends ConsumerError {}

/** A batch could not be finished for a reason outside the records (KMS or DynamoDB unreachable); retried. */
export class TransientProcessingError extends ConsumerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRANSIENT_FAILURE', message, options);
  }
}
