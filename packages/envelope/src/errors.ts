import { PipelineError } from '@records/errors';

export class EnvelopeError extends PipelineError {}

/** A region's wrapping key could not be found: the alias is missing, or the key file is absent. */
export class WrappingKeyNotFoundError extends EnvelopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WRAPPING_KEY_NOT_FOUND', message, options);
  }
}

/** A local wrapping key file may be read by others than its owner: it is not used. */
export class WrappingKeyUnsafeError extends EnvelopeError {
  constructor(message: string) {
    super('WRAPPING_KEY_UNSAFE', message);
  }
}

/** The ciphertext could not be decrypted with this region's key: corrupt, foreign, or over a bound. */
export class DecryptFailedError extends EnvelopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DECRYPT_FAILED', message, options);
  }
}

// A context is the sender's to fill: what a mismatch quotes of it is cut short.
const MAX_QUOTED_STREAM = 256;

function quoteStream(stream: string | undefined): string {
  if (stream === undefined) return 'no stream';
  const quoted = JSON.stringify(stream.length > MAX_QUOTED_STREAM ? `${stream.slice(0, MAX_QUOTED_STREAM)}…` : stream);
  return `stream ${quoted}`;
}

/**
 * The record decrypted, but its signed encryption context is not the one the producer writes: it
 * names another stream than it was read from, or carries keys besides the stream.
 */
export class ContextMismatchError extends EnvelopeError {
  constructor(expectedStream: string, actualStream: string | undefined, unexpectedKeys = 0) {
    const extra = unexpectedKeys === 0 ? '' : ` and ${unexpectedKeys} unexpected key(s)`;
    super(
      'CONTEXT_MISMATCH',
      `encryption context names ${quoteStream(actualStream)}${extra}, record was read from ${JSON.stringify(expectedStream)}`,
    );
  }
}

/**
 * A data key is wrapped under a key this process does not know, and KMS could not say where the
 * alias points now: the record is not known to be bad, so it waits for KMS.
 */
export class KeyAliasUnavailableError extends EnvelopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_ALIAS_UNAVAILABLE', message, options);
  }
}

/**
 * An encryption worker thread stopped (it crashed, or the pool is closing) before it returned the
 * record's ciphertext: nothing was put, so the client retries with the same id. The pool replaces
 * the worker.
 */
export class EncryptionWorkerError extends EnvelopeError {
  constructor(cause: unknown) {
    super('ENCRYPTION_UNAVAILABLE', 'the encryption worker did not return the record; retry later', { cause });
  }
}
