import {
  type KeyringNode,
  NodeDefaultCryptographicMaterialsManager,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { DecryptFailedError } from '@records/envelope';

/**
 * The materials manager behind the consumer's cache. When unwrapping a data key fails and KMS
 * reported no failure of its own meanwhile (`transientFailures` did not move), the key is one this
 * region can never unwrap: that is the record's fault, a DecryptFailedError, which the cache
 * passes on without a back-off window and the processor dead-letters. Any other failure goes on
 * as a KMS failure, and the batch waits for KMS to come back.
 */
export function classifyUnwrapFailures(keyring: KeyringNode, transientFailures: () => number): NodeMaterialsManager {
  const backing = new NodeDefaultCryptographicMaterialsManager(keyring);
  return {
    getEncryptionMaterials: (request) => backing.getEncryptionMaterials(request),
    async decryptMaterials(request) {
      const before = transientFailures();
      try {
        return await backing.decryptMaterials(request);
      } catch (error) {
        if (transientFailures() !== before) throw error;
        const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
        throw new DecryptFailedError(`the data key cannot be unwrapped with this region's key: ${reason}`, {
          cause: error,
        });
      }
    },
  };
}
