import {
  type AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { PipelineError } from '@records/pipeline-config';
import { ContextMismatchError, DecryptFailedError } from './errors.js';

/** The encryption context key that binds a ciphertext to the stream it was written for. */
export const STREAM_CONTEXT_KEY = 'stream';

export interface RecordCipherOptions {
  /** The caching materials manager, shared by every record in the process. */
  readonly materials: NodeMaterialsManager;
  /** Upper bound on encrypted data keys in a message: a message with more is refused unread. */
  readonly maxEncryptedDataKeys: number;
  readonly algorithmSuite?: AlgorithmSuiteIdentifier;
}

function sdkClient(maxEncryptedDataKeys: number) {
  return buildClient({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys });
}

/** Encrypts serialized records under the encryption context `{ stream }`. */
export class RecordEncryptor {
  readonly #options: RecordCipherOptions;
  readonly #encrypt: ReturnType<typeof buildClient>['encrypt'];

  constructor(options: RecordCipherOptions) {
    this.#options = options;
    this.#encrypt = sdkClient(options.maxEncryptedDataKeys).encrypt;
  }

  async encrypt(plaintext: Uint8Array, streamName: string): Promise<Uint8Array> {
    const { result } = await this.#encrypt(this.#options.materials, plaintext, {
      encryptionContext: { [STREAM_CONTEXT_KEY]: streamName },
      // Known up front so the cache can count bytes against its bound.
      plaintextLength: plaintext.byteLength,
      ...(this.#options.algorithmSuite === undefined ? {} : { suiteId: this.#options.algorithmSuite }),
    });
    return result;
  }
}

/** Decrypts records and proves they were written for the stream they were read from. */
export class RecordDecryptor {
  readonly #options: RecordCipherOptions;
  readonly #decrypt: ReturnType<typeof buildClient>['decrypt'];

  constructor(options: RecordCipherOptions) {
    this.#options = options;
    this.#decrypt = sdkClient(options.maxEncryptedDataKeys).decrypt;
  }

  /**
   * Throws ContextMismatchError when the signed context names another stream, DecryptFailedError
   * when the message cannot be decrypted, and lets the pipeline's own errors (such as the cache's
   * KMS_UNAVAILABLE) through, since those are not the record's fault.
   */
  async decrypt(ciphertext: Uint8Array, expectedStream: string): Promise<Uint8Array> {
    let plaintext: Uint8Array;
    let context: Readonly<Record<string, string>>;
    try {
      const { plaintext: decrypted, messageHeader } = await this.#decrypt(this.#options.materials, ciphertext);
      plaintext = decrypted;
      context = messageHeader.encryptionContext;
    } catch (error) {
      if (error instanceof PipelineError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new DecryptFailedError(`record could not be decrypted: ${reason}`, { cause: error });
    }
    const actualStream = context[STREAM_CONTEXT_KEY];
    if (actualStream !== expectedStream) {
      plaintext.fill(0);
      throw new ContextMismatchError(expectedStream, actualStream);
    }
    return plaintext;
  }
}
