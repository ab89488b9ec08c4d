import { PipelineError } from '@records/pipeline-config';

export class EnvelopeError extends PipelineError {}

/** A region's wrapping key could not be found: the alias is missing, or the key file is absent. */
export class WrappingKeyNotFoundError extends EnvelopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WRAPPING_KEY_NOT_FOUND', message, options);
  }
}

/** The ciphertext could not be decrypted with this region's key: corrupt, foreign, or over a bound. */
export class DecryptFailedError extends EnvelopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DECRYPT_FAILED', message, options);
  }
}

/** The record decrypted, but its signed encryption context names another stream than it was read from. */
export class ContextMismatchError extends EnvelopeError {
  constructor(expectedStream: string, actualStream: string | undefined) {
    super(
      'CONTEXT_MISMATCH',
      `encryption context names stream ${JSON.stringify(actualStream ?? null)}, record was read from ${JSON.stringify(expectedStream)}`,
    );
  }
}
