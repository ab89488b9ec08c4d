export * from './errors.js';
export * from './record-item.js';
export * from './record-json.js';
