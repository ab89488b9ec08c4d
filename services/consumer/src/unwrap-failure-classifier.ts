import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type KeyringNode,
  NodeDefaultCryptographicMaterialsManager,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import { KmsUnavailableError } from '@records/data-key-cache';
import { DecryptFailedError, KeyAliasUnavailableError, type KmsClientProvider } from '@records/envelope';

/**
 * KMS answers to Decrypt that are about the encrypted data key the message carries, and so the
 * record's fault: KMS will give the same answer however often it is asked. Every other failure
 * (credentials, access denied, throttling, a disabled key, timeouts, 5xx, anything not listed here)
 * is the pipeline's, and the batch waits for it to pass.
 */
const RECORD_FAULT_KMS_ERRORS: ReadonlySet<string> = new Set([
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'ValidationException',
]);

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export interface UnwrapClassifier {
  /** Give this to the keyring: it is the KMS clients, with every Decrypt failure seen. */
  readonly kms: KmsClientProvider;
  /** The materials manager over the keyring, classifying its failures. */
  materials(keyring: KeyringNode): NodeMaterialsManager;
}

/**
 * Tells the record's fault from the pipeline's when a data key cannot be unwrapped. The keyring
 * folds KMS errors into one message, so the KMS clients it is given record each failed Decrypt in
 * the unwrap that made it (AsyncLocalStorage follows the call, whatever runs beside it).
 *
 * - No KMS call failed: the message has no data key for this region's key, or KMS answered with
 *   something the keyring refused. The record's fault: DecryptFailedError, which the cache passes on
 *   without a back-off window and the processor dead-letters.
 * - Every failed call is in RECORD_FAULT_KMS_ERRORS: the record's fault too.
 * - The data key is under a key the alias was not known to name, and KMS could not say where the
 *   alias points now (KeyAliasUnavailableError): the pipeline's, as any KMS outage.
 * - Otherwise: a KmsUnavailableError, and the batch is retried.
 */
export function createUnwrapClassifier(kms: KmsClientProvider): UnwrapClassifier {
  const failures = new AsyncLocalStorage<unknown[]>();
  const observed = new Map<string, KMS>();
  const observedKms: KmsClientProvider = (region) => {
    const known = observed.get(region);
    if (known !== undefined) return known;
    const client = kms(region);
    const send = client.decrypt.bind(client) as (...args: unknown[]) => Promise<unknown>;
    const decrypt = async (...args: unknown[]) => {
      try {
        return await send(...args);
      } catch (error) {
        failures.getStore()?.push(error);
        throw error;
      }
    };
    const wrapped = new Proxy(client, {
      get: (target, property, receiver) => (property === 'decrypt' ? decrypt : Reflect.get(target, property, receiver)),
    });
    observed.set(region, wrapped);
    return wrapped;
  };
  return {
    kms: observedKms,
    materials(keyring) {
      const backing = new NodeDefaultCryptographicMaterialsManager(keyring);
      return {
        getEncryptionMaterials: (request) => backing.getEncryptionMaterials(request),
        async decryptMaterials(request) {
          const seen: unknown[] = [];
          try {
            return await failures.run(seen, () => backing.decryptMaterials(request));
          } catch (error) {
            const outage =
              error instanceof KeyAliasUnavailableError
                ? error
                : seen.find((failure) => !RECORD_FAULT_KMS_ERRORS.has(errorName(failure)));
            // Said as the pipeline's own error, so no layer above can take it for the record's fault.
            if (outage !== undefined) throw new KmsUnavailableError({ cause: outage, retryAfterMs: 0 });
            const reason = seen.length > 0 ? seen.map(errorName).join(', ') : firstLine(error);
            throw new DecryptFailedError(`the data key cannot be unwrapped with this region's key: ${reason}`, {
              cause: error,
            });
          }
        },
      };
    },
  };
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
}
