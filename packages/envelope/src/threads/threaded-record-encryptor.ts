import type { Worker } from 'node:worker_threads';
import {
  CommitmentPolicy,
  NodeAlgorithmSuite,
  type NodeEncryptionMaterial,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { Piscina } from 'piscina';
import { EncryptionWorkerError } from '../errors.js';
import { type RecordCipherOptions, STREAM_CONTEXT_KEY } from '../record-cipher.js';
import type { EncryptTask } from './encrypt-worker.js';
import { shareMaterial } from './shared-material.js';

export interface ThreadedRecordEncryptorOptions extends RecordCipherOptions {
  /** Worker threads (ENCRYPT_THREADS); at least 1. */
  readonly threads: number;
}

/** Where the worker module is: its TypeScript source when this file runs from source (`pnpm start`, the tests). */
function workerModule(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(fromSource ? './encrypt-worker.ts' : './encrypt-worker.js', import.meta.url).href;
  const execArgv = [...process.execArgv];
  // A source worker needs the TypeScript loader its parent runs with (a test runner's may not pass it on).
  if (fromSource && !execArgv.some((arg) => arg.includes('tsx'))) execArgv.push('--import', 'tsx');
  return { filename, execArgv };
}

/**
 * Encrypts records as RecordEncryptor does, with the same message format, but off the event loop:
 * the main thread asks the one data key cache (`materials`) for each record's materials, so KMS is
 * called as seldom as with one thread whatever the number of threads, and a worker thread runs the
 * SDK's encrypt with them (framing, AES-GCM and, for signing suites, the ECDSA signature, which is
 * most of the cost). A worker that dies fails the records it held with EncryptionWorkerError (503,
 * retried by the client with the same id) and is replaced.
 */
export class ThreadedRecordEncryptor {
  readonly #options: ThreadedRecordEncryptorOptions;
  readonly #pool: Piscina<EncryptTask, Uint8Array>;
  readonly #suite: NodeAlgorithmSuite | undefined;
  /** Every encrypt in hand, from its materials to its ciphertext: close waits for them. */
  readonly #inHand = new Set<Promise<unknown>>();
  #closing = false;

  constructor(options: ThreadedRecordEncryptorOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError(`threads must be a positive integer, got ${options.threads}`);
    }
    this.#options = options;
    this.#suite = options.algorithmSuite === undefined ? undefined : new NodeAlgorithmSuite(options.algorithmSuite);
    this.#pool = new Piscina<EncryptTask, Uint8Array>({
      ...workerModule(),
      name: 'default',
      minThreads: options.threads,
      maxThreads: options.threads,
      // Workers stay up: starting one costs more than many records.
      idleTimeout: Number.POSITIVE_INFINITY,
      // Per-task timing histograms cost CPU on every record and nothing reads them.
      recordTiming: false,
      workerHistogram: false,
    });
  }

  /** The worker threads running now; a crashed one is replaced. */
  workers(): readonly Worker[] {
    return this.#pool.threads;
  }

  encrypt(plaintext: Uint8Array, streamName: string): Promise<Uint8Array> {
    if (this.#closing)
      return Promise.reject(new EncryptionWorkerError(new Error('the encryption workers are stopping')));
    const encrypted = this.#encrypt(plaintext, streamName);
    const settled = encrypted.then(
      () => {},
      () => {},
    );
    this.#inHand.add(settled);
    void settled.then(() => this.#inHand.delete(settled));
    return encrypted;
  }

  async #encrypt(plaintext: Uint8Array, streamName: string): Promise<Uint8Array> {
    const encryptionContext = { [STREAM_CONTEXT_KEY]: streamName };
    const material = (await this.#options.materials.getEncryptionMaterials({
      suite: this.#suite,
      encryptionContext,
      plaintextLength: plaintext.byteLength,
      commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
    } as Parameters<NodeMaterialsManager['getEncryptionMaterials']>[0])) as NodeEncryptionMaterial;
    let shared: ReturnType<typeof shareMaterial>;
    try {
      shared = shareMaterial(material);
    } finally {
      // As the SDK does once a message is written: this copy of the data key is done with.
      material.zeroUnencryptedDataKey();
    }
    // A compact copy, moved to the worker: a small Buffer is a view of Node's shared 8 KiB pool,
    // which the structured clone would copy whole. The worker zeroes it once encrypted.
    const own = new Uint8Array(plaintext);
    try {
      return await this.#pool.run(
        {
          plaintext: own,
          material: shared,
          encryptionContext,
          maxEncryptedDataKeys: this.#options.maxEncryptedDataKeys,
          ...(this.#options.algorithmSuite === undefined ? {} : { suiteId: this.#options.algorithmSuite }),
        },
        // The data key goes to the worker, not a copy of it: nothing of it stays here.
        { transferList: [shared.dataKey.buffer as ArrayBuffer, own.buffer as ArrayBuffer] },
      );
    } catch (error) {
      throw new EncryptionWorkerError(error);
    }
  }

  /** Refuses new records, lets those in hand finish, then stops every worker. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#inHand);
    await this.#pool.close();
  }
}
