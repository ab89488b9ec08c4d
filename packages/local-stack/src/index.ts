export * from './emulators/dynalite.js';
export * from './emulators/emulator.js';
export * from './emulators/emulator-set.js';
export * from './emulators/kinesis-local.js';
export * from './emulators/moto.js';
export * from './errors.js';
export * from './stack/stack.js';
export * from './stack/stack-config.js';
