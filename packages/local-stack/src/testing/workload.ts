import { NodeAlgorithmSuite } from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';

/** Runs `task` for indexes 0..count-1 with at most `concurrency` in flight; results keep index order. */
export async function inParallel<T>(count: number, concurrency: number, task: (index: number) => Promise<T>) {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

const { deserializeMessageHeader } = deserializeFactory(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  NodeAlgorithmSuite,
);

/**
 * Which data key encrypted a message, read from its header without decrypting: the encrypted data
 * keys, in order, identify the data key.
 */
export function dataKeyOf(ciphertext: Uint8Array): string {
  const header = deserializeMessageHeader(ciphertext);
  if (header === false) throw new Error('not a complete message header');
  return header.messageHeader.encryptedDataKeys
    .map((edk) => `${edk.providerInfo}:${Buffer.from(edk.encryptedDataKey).toString('base64')}`)
    .join('|');
}

export interface DataKeyUse {
  messages: number;
  bytes: number;
}

/** Messages and plaintext bytes per data key, from the ciphertexts' headers. */
export function usePerDataKey(messages: readonly { ciphertext: Uint8Array; plaintextLength: number }[]) {
  const use = new Map<string, DataKeyUse>();
  for (const { ciphertext, plaintextLength } of messages) {
    const key = dataKeyOf(ciphertext);
    const entry = use.get(key) ?? { messages: 0, bytes: 0 };
    entry.messages += 1;
    entry.bytes += plaintextLength;
    use.set(key, entry);
  }
  return use;
}
