export * from './config.js';
export * from './errors.js';
export * from './metrics.js';
export * from './multi-region-pusher.js';
export * from './producer.js';
export * from './record.js';
export * from './record-ingestor.js';
export * from './shard-pacer.js';
