import {
  getLocalCryptographicMaterialsCache,
  type KeyringNode,
  NodeCachingMaterialsManager,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { type CacheRequestEvent, CoalescingCachingMaterialsManager } from '../src/index.js';

export const CAPACITY = 100;
export const MAX_AGE_SECONDS = 3_600;

/** The SDK's own caching materials manager, configured with the same bounds as ours. */
export function stockManager(keyring: KeyringNode, maxMessages: number): NodeMaterialsManager {
  return new NodeCachingMaterialsManager({
    backingMaterials: keyring,
    cache: getLocalCryptographicMaterialsCache(CAPACITY),
    maxAge: MAX_AGE_SECONDS * 1000,
    maxMessagesEncrypted: maxMessages,
  });
}

export function ourManager(
  keyring: KeyringNode,
  maxMessages: number,
  refresh: { refreshAhead: boolean; refreshAheadAt?: number },
  onRequest?: (event: CacheRequestEvent) => void,
): CoalescingCachingMaterialsManager {
  return new CoalescingCachingMaterialsManager({
    backing: keyring,
    capacity: CAPACITY,
    maxAgeSeconds: MAX_AGE_SECONDS,
    maxMessages,
    maxBytes: Number.MAX_SAFE_INTEGER,
    refreshAhead: refresh.refreshAhead,
    refreshAheadAt: refresh.refreshAheadAt ?? 0.8,
    ...(onRequest === undefined ? {} : { onRequest }),
  });
}

/** Stops ours; the stock manager has nothing to stop. */
export function release(manager: NodeMaterialsManager): void {
  if (manager instanceof CoalescingCachingMaterialsManager) manager.close();
}
