import {
  type EncryptedDataKey,
  KeyringNode,
  KmsKeyringNode,
  type NodeDecryptionMaterial,
  type NodeEncryptionMaterial,
} from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import type { WrappingKeyAlias } from './wrapping-key-alias.js';

/** What a KMS keyring is built of, as the alias stands now. */
export interface AliasKeyIds {
  readonly generatorKeyId?: string;
  readonly keyIds: readonly string[];
}

export interface AliasKeyringOptions {
  readonly alias: WrappingKeyAlias;
  readonly keyIds: (alias: WrappingKeyAlias) => AliasKeyIds;
  readonly clientProvider: (region: string) => KMS;
  /**
   * The region whose data keys this keyring unwraps. A message whose only data keys there are under
   * keys the alias is not known to have named makes it look at the alias again before it tries.
   */
  readonly unwrapRegion?: string;
}

const KMS_PROVIDER_ID = 'aws-kms';

function arnRegion(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(arn)?.[1];
}

/**
 * A strict KMS keyring over the keys an alias names: it is rebuilt when the alias moves, so the
 * materials manager above it (and its cached data keys) stays as it is.
 */
export class AliasKeyringNode extends KeyringNode {
  readonly #options: AliasKeyringOptions;
  #built: string | undefined;
  #keyring: KmsKeyringNode | undefined;

  constructor(options: AliasKeyringOptions) {
    super();
    this.#options = options;
  }

  async _onEncrypt(material: NodeEncryptionMaterial): Promise<NodeEncryptionMaterial> {
    this.#options.alias.refreshIfDue();
    return this.#current().onEncrypt(material);
  }

  async _onDecrypt(material: NodeDecryptionMaterial, keys: EncryptedDataKey[]): Promise<NodeDecryptionMaterial> {
    const { alias, unwrapRegion } = this.#options;
    alias.refreshIfDue();
    if (unwrapRegion !== undefined && this.#onlyUnknownKeys(keys, unwrapRegion)) await alias.refreshNow();
    return this.#current().onDecrypt(material, keys);
  }

  #onlyUnknownKeys(keys: readonly EncryptedDataKey[], region: string): boolean {
    const inRegion = keys.filter((key) => key.providerId === KMS_PROVIDER_ID && arnRegion(key.providerInfo) === region);
    if (inRegion.length === 0) return false;
    const accepted = new Set(this.#options.alias.accepted(region));
    return !inRegion.some((key) => accepted.has(key.providerInfo));
  }

  #current(): KmsKeyringNode {
    const ids = this.#options.keyIds(this.#options.alias);
    const built = JSON.stringify(ids);
    if (this.#keyring === undefined || built !== this.#built) {
      this.#keyring = new KmsKeyringNode({
        ...(ids.generatorKeyId === undefined ? {} : { generatorKeyId: ids.generatorKeyId }),
        keyIds: [...ids.keyIds],
        clientProvider: this.#options.clientProvider,
      });
      this.#built = built;
    }
    return this.#keyring;
  }
}
