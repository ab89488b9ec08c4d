export * from './coalescing-caching-materials-manager.js';
export type { EvictionReason } from './data-key-entry.js';
export * from './errors.js';
export type { BackoffOptions } from './kms-backoff.js';
export * from './metrics.js';
export * from './options.js';
