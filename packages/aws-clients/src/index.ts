export * from './aws-clients.js';
export * from './error-classification.js';
export * from './list-shards.js';
export * from './request-metrics.js';
export * from './request-observer.js';
export * from './startup-retry.js';
