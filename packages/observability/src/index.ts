export * from './service-registry.js';
