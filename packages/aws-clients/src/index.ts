export * from './aws-clients.js';
export * from './request-metrics.js';
export * from './request-observer.js';
