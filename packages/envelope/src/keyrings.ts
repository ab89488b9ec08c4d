import {
  type KeyringNode,
  KmsKeyringNode,
  MultiKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
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

/**
 * The producer's keyring: the first region's key generates each data key, and every other region's
 * key wraps it too, so any one region can decrypt on its own.
 */
export function multiRegionKeyring(
  keys: ResolvedWrappingKeys,
  regions: readonly string[],
  kms: KmsClientProvider,
): KeyringNode {
  const [generatorRegion, ...otherRegions] = regions;
  if (generatorRegion === undefined) throw new WrappingKeyNotFoundError('no region is configured');
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

/** A consumer's keyring: it can unwrap only with its own region's key, and calls only that region's KMS. */
export function regionKeyring(keys: ResolvedWrappingKeys, region: string, kms: KmsClientProvider): KeyringNode {
  if (keys.kind === 'raw-aes') return rawAesKeyring(keys.keys, region);
  return new KmsKeyringNode({
    keyIds: [keyFor(keys.keyArns, region)],
    clientProvider: (keyRegion: string) => {
      if (keyRegion !== region) throw new WrappingKeyNotFoundError(`refusing a KMS call in ${keyRegion}`);
      return kms(keyRegion);
    },
  });
}
