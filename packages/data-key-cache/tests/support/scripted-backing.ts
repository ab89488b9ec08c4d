import { randomBytes } from 'node:crypto';
import {
  type NodeAlgorithmSuite,
  type NodeDecryptionMaterial,
  NodeDefaultCryptographicMaterialsManager,
  type NodeEncryptionMaterial,
  type NodeMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import type { DecryptionRequest, EncryptionRequest } from '@aws-crypto/material-management';

/**
 * A backing materials manager for unit tests: real material from a local AES keyring, with every
 * call counted and every material kept, and switches to hold calls until released or to fail them.
 */
export class ScriptedBacking implements NodeMaterialsManager {
  readonly encryptCalls: EncryptionRequest<NodeAlgorithmSuite>[] = [];
  readonly decryptCalls: DecryptionRequest<NodeAlgorithmSuite>[] = [];
  /** Every material handed out, in order: what the cache holds (and must zero) are these objects. */
  readonly produced: (NodeEncryptionMaterial | NodeDecryptionMaterial)[] = [];
  readonly producedForEncrypt: NodeEncryptionMaterial[] = [];
  failure: Error | undefined;
  readonly #inner = new NodeDefaultCryptographicMaterialsManager(
    new RawAesKeyringNode({
      keyName: 'unit-test-key',
      keyNamespace: 'unit-tests',
      unencryptedMasterKey: randomBytes(32),
      wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    }),
  );
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  /** Calls from now on wait until `release()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  async getEncryptionMaterials(request: EncryptionRequest<NodeAlgorithmSuite>): Promise<NodeEncryptionMaterial> {
    this.encryptCalls.push(request);
    await this.#gate;
    if (this.failure !== undefined) throw this.failure;
    const material = await this.#inner.getEncryptionMaterials(request);
    this.produced.push(material);
    this.producedForEncrypt.push(material);
    return material;
  }

  async decryptMaterials(request: DecryptionRequest<NodeAlgorithmSuite>): Promise<NodeDecryptionMaterial> {
    this.decryptCalls.push(request);
    await this.#gate;
    if (this.failure !== undefined) throw this.failure;
    const material = await this.#inner.decryptMaterials(request);
    this.produced.push(material);
    return material;
  }
}

/** A clock the test moves by hand. */
export class ManualClock {
  #now = 1_000_000;
  readonly now = () => this.#now;

  advance(ms: number): void {
    this.#now += ms;
  }
}
