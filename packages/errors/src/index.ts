export * from './pipeline-error.js';
