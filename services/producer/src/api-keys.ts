import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <key>` against the configured keys in constant time: every key is
 * compared (as a SHA-256, so lengths do not leak), whatever matched before.
 */
export function createApiKeyCheck(keys: readonly string[]): (authorization: string | undefined) => boolean {
  const known = keys.map(digest);
  return (authorization) => {
    const presented = /^Bearer ([^\s]+)$/.exec(authorization ?? '')?.[1];
    const candidate = digest(presented ?? '');
    let matched = false;
    for (const key of known) matched = timingSafeEqual(key, candidate) || matched;
    return presented !== undefined && matched;
  };
}
