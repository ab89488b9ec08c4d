export * from './errors.js';
export * from './keyrings.js';
export * from './record-cipher.js';
export * from './wrapping-keys.js';
