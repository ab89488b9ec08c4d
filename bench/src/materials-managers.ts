import {
  getLocalCryptographicMaterialsCache,
  type KeyringNode,
  NodeCachingMaterialsManager,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import {
  type CacheRequestEvent,
  CoalescingCachingMaterialsManager,
  type DataKeyCacheOptions,
} from '@records/data-key-cache';

const CAPACITY = 100;
const MAX_AGE_SECONDS = 3_600;

/** How ours fetches keys ahead: not at all, one key at 0.8 of a bound, or adapting to pace and latency. */
export type RefreshMode = 'off' | 'at 0.8' | 'adaptive';

function refreshOptions(
  mode: RefreshMode,
): Pick<DataKeyCacheOptions, 'refreshAhead' | 'refreshAheadAt' | 'adaptiveRefresh'> {
  if (mode === 'off') return { refreshAhead: false, refreshAheadAt: 0.8 };
  if (mode === 'at 0.8') return { refreshAhead: true, refreshAheadAt: 0.8, adaptiveRefresh: false };
  return { refreshAhead: true, refreshAheadAt: 0.8 };
}

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
  mode: RefreshMode,
  onRequest?: (event: CacheRequestEvent) => void,
): CoalescingCachingMaterialsManager {
  return new CoalescingCachingMaterialsManager({
    backing: keyring,
    capacity: CAPACITY,
    maxAgeSeconds: MAX_AGE_SECONDS,
    maxMessages,
    maxBytes: Number.MAX_SAFE_INTEGER,
    ...refreshOptions(mode),
    ...(onRequest === undefined ? {} : { onRequest }),
  });
}

/** Stops ours; the stock manager has nothing to stop. */
export function release(manager: NodeMaterialsManager): void {
  if (manager instanceof CoalescingCachingMaterialsManager) manager.close();
}
