export * from './errors.js';
export * from './kms-keys.js';
export * from './provision.js';
export * from './streams.js';
export * from './tables.js';
