export * from './emf-publisher.js';
export type * from './logger.js';
export * from './service-registry.js';
export * from './status-app.js';
export * from './status-routes.js';
