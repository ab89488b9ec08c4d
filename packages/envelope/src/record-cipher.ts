import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  NodeAlgorithmSuite,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { PipelineError } from '@records/errors';
import { ContextMismatchError, DecryptFailedError } from './errors.js';

/** The encryption context key that binds a ciphertext to the stream it was written for. */
export const STREAM_CONTEXT_KEY = 'stream';

/** The context key the SDK adds for signing suites: the message's public verification key. */
const PUBLIC_KEY_CONTEXT_KEY = 'aws-crypto-public-key';

/** What the SDK encrypts with when no suite is configured: key commitment and an ECDSA signature. */
export const DEFAULT_ALGORITHM_SUITE =
  AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;

/**
 * The suite the Encryption SDK 1.x wrote by default, and so the one producers built from the AWS
 * documentation's example still write: no key commitment.
 */
export const LEGACY_ALGORITHM_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384;

/**
 * Which messages a consumer decrypts. `require-encrypt-require-decrypt` reads only key-committing
 * messages; `require-encrypt-allow-decrypt` is the SDK's documented migration step that also reads
 * the legacy suite, until the last producer on the old SDK has moved.
 */
export type DecryptCommitmentPolicy = 'require-encrypt-require-decrypt' | 'require-encrypt-allow-decrypt';

export interface DecryptedRecord {
  readonly plaintext: Uint8Array;
  /** The message's algorithm suite, by its SDK name. */
  readonly suite: string;
}

export interface RecordCipherOptions {
  /** The caching materials manager, shared by every record in the process. */
  readonly materials: NodeMaterialsManager;
  /** Upper bound on encrypted data keys in a message: a message with more is refused unread. */
  readonly maxEncryptedDataKeys: number;
  readonly algorithmSuite?: AlgorithmSuiteIdentifier;
}

function sdkClient(maxEncryptedDataKeys: number, policy: DecryptCommitmentPolicy = 'require-encrypt-require-decrypt') {
  const commitmentPolicy =
    policy === 'require-encrypt-allow-decrypt'
      ? CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
      : CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT;
  return buildClient({ commitmentPolicy, maxEncryptedDataKeys });
}

export interface RecordDecryptorOptions extends RecordCipherOptions {
  /** Defaults to `require-encrypt-require-decrypt`. */
  readonly commitmentPolicy?: DecryptCommitmentPolicy;
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

/**
 * Decrypts records and proves they were written for the stream they were read from, under the
 * suite the pipeline writes (and the legacy one only under the migration policy), with an
 * encryption context of exactly the keys the producer sets.
 */
export class RecordDecryptor {
  readonly #options: RecordDecryptorOptions;
  readonly #decrypt: ReturnType<typeof buildClient>['decrypt'];
  readonly #acceptedSuites: ReadonlySet<AlgorithmSuiteIdentifier>;

  constructor(options: RecordDecryptorOptions) {
    this.#options = options;
    this.#decrypt = sdkClient(options.maxEncryptedDataKeys, options.commitmentPolicy).decrypt;
    const suites = [options.algorithmSuite ?? DEFAULT_ALGORITHM_SUITE];
    if (options.commitmentPolicy === 'require-encrypt-allow-decrypt') suites.push(LEGACY_ALGORITHM_SUITE);
    this.#acceptedSuites = new Set(suites);
  }

  /**
   * Throws ContextMismatchError when the signed context names another stream, DecryptFailedError
   * when the message cannot be decrypted, and lets the pipeline's own errors (such as the cache's
   * KMS_UNAVAILABLE) through, since those are not the record's fault.
   */
  async decrypt(ciphertext: Uint8Array, expectedStream: string): Promise<DecryptedRecord> {
    let plaintext: Uint8Array;
    let context: Readonly<Record<string, string>>;
    let suiteId: AlgorithmSuiteIdentifier;
    try {
      const { plaintext: decrypted, messageHeader } = await this.#decrypt(this.#options.materials, ciphertext);
      plaintext = decrypted;
      context = messageHeader.encryptionContext;
      suiteId = messageHeader.suiteId;
    } catch (error) {
      if (error instanceof PipelineError) throw error;
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new DecryptFailedError(`record could not be decrypted: ${reason}`, { cause: error });
    }
    const suite = AlgorithmSuiteIdentifier[suiteId] ?? String(suiteId);
    if (!this.#acceptedSuites.has(suiteId)) {
      plaintext.fill(0);
      throw new DecryptFailedError(`algorithm suite ${suite} is not one this consumer accepts`);
    }
    const expectedKeys = new Set([STREAM_CONTEXT_KEY]);
    if (new NodeAlgorithmSuite(suiteId).signatureCurve !== undefined) expectedKeys.add(PUBLIC_KEY_CONTEXT_KEY);
    const actualStream = context[STREAM_CONTEXT_KEY];
    const keys = Object.keys(context);
    if (
      actualStream !== expectedStream ||
      keys.length !== expectedKeys.size ||
      keys.some((key) => !expectedKeys.has(key))
    ) {
      plaintext.fill(0);
      throw new ContextMismatchError(expectedStream, actualStream, keys.filter((key) => !expectedKeys.has(key)).length);
    }
    return { plaintext, suite };
  }
}
