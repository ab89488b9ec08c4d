import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KMS } from '@aws-sdk/client-kms';
import type { WrappingKeySettings } from '@records/pipeline-config';
import { WrappingKeyNotFoundError, WrappingKeyUnsafeError } from './errors.js';
import { describeOptionalAlias, WrappingKeyAlias, type WrappingKeyAliasOptions } from './wrapping-key-alias.js';

/**
 * Wrapping keys with every alias resolved, ready to build keyrings from. With `alias`, the keyrings
 * follow it when it moves; `keyArns` are the keys it named at start-up.
 */
export type ResolvedWrappingKeys =
  | { readonly kind: 'kms'; readonly keyArns: Readonly<Record<string, string>>; readonly alias?: WrappingKeyAlias }
  | { readonly kind: 'raw-aes'; readonly keys: Readonly<Record<string, Uint8Array>> };

export interface ResolveWrappingKeysOptions {
  readonly settings: WrappingKeySettings;
  readonly regions: readonly string[];
  readonly kms: (region: string) => KMS;
  /** Keys that only wrap (the producer's): the retiring alias is not followed. */
  readonly encryptOnly?: boolean;
  /** Where the alias's moves and failed looks are said. */
  readonly logger?: WrappingKeyAliasOptions['logger'];
}

/**
 * Resolves each region's key at start-up. An alias resolves to the key ARN because the SDK
 * matches encrypted data keys by key ARN on decrypt; with `aliasRefresh` it is followed after
 * (WrappingKeyAlias), and keys given by ARN stay as they are.
 */
export async function resolveWrappingKeys(options: ResolveWrappingKeysOptions): Promise<ResolvedWrappingKeys> {
  const { settings, regions } = options;
  if (settings.kind === 'raw-aes') {
    const entries = await Promise.all(
      regions.map(async (region) => [region, await readRawAesKey(settings.keyDirectory, region)] as const),
    );
    return { kind: 'raw-aes', keys: Object.fromEntries(entries) };
  }
  if (settings.keyArns !== undefined) return { kind: 'kms', keyArns: settings.keyArns };
  const entries = await Promise.all(
    regions.map(async (region) => {
      try {
        const { KeyMetadata } = await options.kms(region).describeKey({ KeyId: settings.alias });
        if (KeyMetadata?.Arn === undefined) throw new Error('DescribeKey returned no key ARN');
        return [region, KeyMetadata.Arn] as const;
      } catch (error) {
        throw new WrappingKeyNotFoundError(`KMS key ${settings.alias} in ${region} could not be resolved`, {
          cause: error,
        });
      }
    }),
  );
  const keyArns = Object.fromEntries(entries);
  if (settings.aliasRefresh === undefined) return { kind: 'kms', keyArns };
  const retiringAlias = options.encryptOnly ? undefined : settings.aliasRefresh.retiringAlias;
  const retiring = await Promise.all(
    regions.map(async (region) => {
      try {
        if (retiringAlias === undefined) return [region, undefined] as const;
        return [region, await describeOptionalAlias(options.kms(region), retiringAlias)] as const;
      } catch (error) {
        // Not a reason to stay down: records under the alias's own key flow without it.
        options.logger?.warn(
          { alias: retiringAlias, region, err: error },
          'the retiring key alias could not be resolved',
        );
        return [region, undefined] as const;
      }
    }),
  );
  const alias = new WrappingKeyAlias({
    alias: settings.alias,
    initialArns: keyArns,
    initialRetiringArns: Object.fromEntries(retiring),
    kms: options.kms,
    refreshMs: settings.aliasRefresh.refreshMs,
    keepPreviousMs: settings.aliasRefresh.keepPreviousMs,
    ...(retiringAlias === undefined ? {} : { retiringAlias }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return { kind: 'kms', keyArns, alias };
}

/** `<directory>/<region>.key` holds a base64 256-bit AES key. */
export async function readRawAesKey(directory: string, region: string): Promise<Uint8Array> {
  const path = join(directory, `${region}.key`);
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new WrappingKeyUnsafeError(`raw AES key for ${region} (${region}.key) may be read by others: chmod 600 it`);
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof WrappingKeyUnsafeError) throw error;
    throw new WrappingKeyNotFoundError(`raw AES key for ${region} is missing (${region}.key)`, { cause: error });
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new WrappingKeyNotFoundError(`raw AES key for ${region} must be 32 bytes of base64`);
  return new Uint8Array(key);
}
