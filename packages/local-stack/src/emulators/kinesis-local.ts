import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { type Emulator, startChildEmulator } from './emulator.js';

export interface KinesisLocalOptions {
  readonly port: number;
  readonly tlsPort: number;
  /** Keeps streams and records across restarts when set. */
  readonly persistPath?: string;
  readonly onOutput?: (line: string) => void;
}

/**
 * kinesis-mock binds every interface (its host is fixed at 0.0.0.0), so it is started with this
 * module preloaded: every server it opens listens on the loopback address instead.
 */
const LOOPBACK_ONLY = `
import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first, ...rest] = args;
  if (typeof first === 'number' || typeof first === 'string') {
    const callback = rest.find((arg) => typeof arg === 'function');
    return listen.call(this, { port: Number(first), host: '127.0.0.1' }, ...(callback ? [callback] : []));
  }
  if (first !== null && typeof first === 'object' && first.path === undefined) {
    return listen.call(this, { ...first, host: '127.0.0.1' }, ...rest);
  }
  return listen.apply(this, args);
};
`;

/** kinesis-mock, the engine LocalStack uses for Kinesis. It keeps regions apart by the signing region. */
export function startKinesisLocal(options: KinesisLocalOptions): Promise<Emulator> {
  const packageDir = dirname(createRequire(import.meta.url).resolve('kinesis-local/package.json'));
  return startChildEmulator({
    name: 'kinesis-local',
    command: process.execPath,
    args: ['--import', `data:text/javascript,${encodeURIComponent(LOOPBACK_ONLY)}`, 'main.js'],
    cwd: packageDir,
    endpoint: `http://127.0.0.1:${options.port}`,
    env: {
      KINESIS_MOCK_PLAIN_PORT: String(options.port),
      KINESIS_MOCK_TLS_PORT: String(options.tlsPort),
      LOG_LEVEL: 'WARN',
      // Streams become ACTIVE at once; the default half second only slows provisioning down.
      CREATE_STREAM_DURATION: '0ms',
      // Kinesis's default account limit is 500 shards; kinesis-mock's own default of 50 runs out
      // under a test suite that makes a stream per test.
      SHARD_LIMIT: '500',
      ...(options.persistPath === undefined
        ? {}
        : { SHOULD_PERSIST_DATA: 'true', PERSIST_PATH: options.persistPath, PERSIST_INTERVAL: '1s' }),
    },
    ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
  });
}
