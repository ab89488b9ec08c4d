export * from './env.js';
export * from './errors.js';
export * from './metrics-emf.js';
export * from './provisioning.js';
export * from './service.js';
export * from './settings.js';
