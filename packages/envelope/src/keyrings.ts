import {
  type KeyringNode,
  KmsKeyringNode,
  MultiKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import { AliasKeyringNode } from './alias-keyring.js';
import { WrappingKeyNotFoundError } from './errors.js';
import type { ResolvedWrappingKeys } from './wrapping-keys.js';

/** Key namespace of the local AES wrapping keys; part of every raw-AES encrypted data key. */
export const RAW_AES_KEY_NAMESPACE = 'records-local';

export type KmsClientProvider = (region: string) => KMS;

function keyFor<T>(keys: Readonly<Record<string, T>>, region: string): T {
  const key = keys[region];
  if (key === undefined) throw new WrappingKeyNotFoundError(`no wrapping key for region ${region}`);
  return key;
}

function rawAesKeyring(keys: Readonly<Record<string, Uint8Array>>, region: string): RawAesKeyringNode {
  return new RawAesKeyringNode({
    keyName: region,
    keyNamespace: RAW_AES_KEY_NAMESPACE,
    // The keyring takes the key over and zeroes the buffer it is given: hand it a copy.
    unencryptedMasterKey: keyFor(keys, region).slice(),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
}

function present(arn: string | undefined, region: string): string {
  if (arn === undefined) throw new WrappingKeyNotFoundError(`no wrapping key for region ${region}`);
  return arn;
}

/**
 * The producer's keyring: the first region's key generates each data key, and every other region's
 * key wraps it too, so any one region can decrypt on its own. Under a followed alias, data keys
 * fetched after a move are wrapped under the keys it names then.
 */
export function multiRegionKeyring(
  keys: ResolvedWrappingKeys,
  regions: readonly string[],
  kms: KmsClientProvider,
): KeyringNode {
  const [generatorRegion, ...otherRegions] = regions;
  if (generatorRegion === undefined) throw new WrappingKeyNotFoundError('no region is configured');
  if (keys.kind === 'kms' && keys.alias !== undefined) {
    return new AliasKeyringNode({
      alias: keys.alias,
      keyIds: (alias) => ({
        generatorKeyId: present(alias.current(generatorRegion), generatorRegion),
        keyIds: otherRegions.map((region) => present(alias.current(region), region)),
      }),
      clientProvider: kms,
    });
  }
  if (keys.kind === 'kms') {
    return new KmsKeyringNode({
      generatorKeyId: keyFor(keys.keyArns, generatorRegion),
      keyIds: otherRegions.map((region) => keyFor(keys.keyArns, region)),
      clientProvider: kms,
    });
  }
  return new MultiKeyringNode({
    generator: rawAesKeyring(keys.keys, generatorRegion),
    children: otherRegions.map((region) => rawAesKeyring(keys.keys, region)),
  });
}

/**
 * A consumer's keyring: it can unwrap only with its own region's key, and calls only that region's
 * KMS. Under a followed alias, that is every key the alias named there within its window.
 */
export function regionKeyring(keys: ResolvedWrappingKeys, region: string, kms: KmsClientProvider): KeyringNode {
  if (keys.kind === 'raw-aes') return rawAesKeyring(keys.keys, region);
  const clientProvider = (keyRegion: string) => {
    if (keyRegion !== region) throw new WrappingKeyNotFoundError(`refusing a KMS call in ${keyRegion}`);
    return kms(keyRegion);
  };
  if (keys.alias !== undefined) {
    present(keys.alias.current(region), region);
    return new AliasKeyringNode({
      alias: keys.alias,
      keyIds: (alias) => ({ keyIds: alias.accepted(region) }),
      clientProvider,
      unwrapRegion: region,
    });
  }
  return new KmsKeyringNode({ keyIds: [keyFor(keys.keyArns, region)], clientProvider });
}
