export * from './service-registry.js';
export * from './status-server.js';
