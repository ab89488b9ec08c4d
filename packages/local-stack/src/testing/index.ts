export * from './kms-fixture.js';
export * from './kms-proxy.js';
export * from './producer-workload.js';
export * from './stack-process.js';
export * from './workload.js';
