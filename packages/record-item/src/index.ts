export * from './errors.js';
export * from './record-item.js';
export * from './record-json.js';
export * from './record-version.js';
export * from './versioned-record.js';
