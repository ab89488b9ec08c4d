import { buildClient, CommitmentPolicy, type NodeMaterialsManager } from '@aws-crypto/client-node';
import { move } from 'piscina';
import { materialFrom, type SharedMaterial } from './shared-material.js';

/** One record for a worker to encrypt, with the materials the main thread's cache served it. */
export interface EncryptTask {
  readonly plaintext: Uint8Array;
  readonly material: SharedMaterial;
  readonly encryptionContext: Readonly<Record<string, string>>;
  readonly suiteId?: number;
  readonly maxEncryptedDataKeys: number;
}

const clients = new Map<number, ReturnType<typeof buildClient>['encrypt']>();

function encryptFor(maxEncryptedDataKeys: number) {
  let encrypt = clients.get(maxEncryptedDataKeys);
  if (encrypt === undefined) {
    encrypt = buildClient({
      commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
      maxEncryptedDataKeys,
    }).encrypt;
    clients.set(maxEncryptedDataKeys, encrypt);
  }
  return encrypt;
}

/**
 * Runs in an encryption worker thread: the SDK's own encrypt (framing, AES-GCM, the header and its
 * authentication tag, and the ECDSA signature of signing suites), over a materials manager that
 * hands it the materials posted with the task instead of asking a keyring. No KMS call is ever
 * made here: the one data key cache is in the main thread.
 */
export default async function encryptRecord(task: EncryptTask): Promise<Uint8Array> {
  const materials: NodeMaterialsManager = {
    getEncryptionMaterials: async () => materialFrom(task.material),
    decryptMaterials: async () => {
      throw new Error('encryption workers do not decrypt');
    },
  };
  try {
    const { result } = await encryptFor(task.maxEncryptedDataKeys)(materials, task.plaintext, {
      encryptionContext: task.encryptionContext,
      plaintextLength: task.plaintext.byteLength,
      ...(task.suiteId === undefined ? {} : { suiteId: task.suiteId }),
    });
    // A copy of its own, moved rather than copied again: the SDK's buffer may share Node's pool,
    // which must not travel.
    return move(new Uint8Array(result)) as Uint8Array;
  } finally {
    task.plaintext.fill(0);
    task.material.dataKey.fill(0);
  }
}
