import type { KMS } from '@aws-sdk/client-kms';
import { hasErrorName } from '@records/errors';

function isNotFound(error: unknown): boolean {
  return hasErrorName(error, 'NotFoundException');
}

/** Returns the ARN of the key behind `alias`, creating the key and the alias when absent. */
export async function ensureKmsKey(kms: KMS, alias: string): Promise<string> {
  try {
    const { KeyMetadata } = await kms.describeKey({ KeyId: alias });
    if (KeyMetadata?.Arn !== undefined) return KeyMetadata.Arn;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const { KeyMetadata } = await kms.createKey({
    Description: `Wraps the data keys of the records pipeline (${alias})`,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeySpec: 'SYMMETRIC_DEFAULT',
  });
  if (KeyMetadata?.KeyId === undefined || KeyMetadata.Arn === undefined) throw new Error('CreateKey returned no key');
  try {
    await kms.createAlias({ AliasName: alias, TargetKeyId: KeyMetadata.KeyId });
    return KeyMetadata.Arn;
  } catch (error) {
    // Another provisioner won the race: use its key and retire ours.
    if (!hasErrorName(error, 'AlreadyExistsException')) throw error;
    await kms.scheduleKeyDeletion({ KeyId: KeyMetadata.KeyId, PendingWindowInDays: 7 });
    const existing = await kms.describeKey({ KeyId: alias });
    if (existing.KeyMetadata?.Arn === undefined) throw error;
    return existing.KeyMetadata.Arn;
  }
}
