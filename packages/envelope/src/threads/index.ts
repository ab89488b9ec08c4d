export * from './threaded-record-encryptor.js';
