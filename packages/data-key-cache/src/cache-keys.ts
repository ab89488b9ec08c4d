import { createHash } from 'node:crypto';
import { buildCryptographicMaterialsCacheKeyHelpers } from '@aws-crypto/cache-material';
import type { NodeAlgorithmSuite } from '@aws-crypto/client-node';

async function sha512(...data: (Uint8Array | string)[]): Promise<Uint8Array> {
  const hash = createHash('sha512');
  for (const item of data) hash.update(item);
  return hash.digest();
}

/**
 * The SDK's cache-key formulas (partition, suite and context on encrypt; suite, encrypted data keys
 * and context on decrypt). The final digest is kept as base64 rather than decoded as UTF-8, which
 * would fold invalid byte sequences together.
 */
export const cacheKeys = buildCryptographicMaterialsCacheKeyHelpers<NodeAlgorithmSuite>(
  (text) => Buffer.from(text, 'utf8'),
  (bytes) => Buffer.from(bytes).toString('base64'),
  sha512,
);
