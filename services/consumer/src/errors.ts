import { PipelineError } from '@records/errors';

class ConsumerError extends PipelineError {}

/** A batch could not be finished for a reason outside the records (KMS or DynamoDB unreachable); retried. */
export class TransientProcessingError extends ConsumerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRANSIENT_FAILURE', message, options);
  }
}

/** Another consumer holds the shard's lease now: this one stops reading it, and its writes to the lease fail. */
export class LeaseLostError extends ConsumerError {
  constructor(shardId: string, options?: { cause?: unknown }) {
    super('LEASE_LOST', `the lease of ${shardId} is held by another consumer now`, options);
  }
}
