export * from './kms-proxy.js';
