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

/** kinesis-mock, the engine LocalStack uses for Kinesis. It keeps regions apart by the signing region. */
export function startKinesisLocal(options: KinesisLocalOptions): Promise<Emulator> {
  const packageDir = dirname(createRequire(import.meta.url).resolve('kinesis-local/package.json'));
  return startChildEmulator({
    name: 'kinesis-local',
    command: process.execPath,
    args: ['main.js'],
    cwd: packageDir,
    endpoint: `http://127.0.0.1:${options.port}`,
    env: {
      KINESIS_MOCK_PLAIN_PORT: String(options.port),
      KINESIS_MOCK_TLS_PORT: String(options.tlsPort),
      LOG_LEVEL: 'WARN',
      // Streams become ACTIVE at once; the default half second only slows provisioning down.
      CREATE_STREAM_DURATION: '0ms',
      ...(options.persistPath === undefined
        ? {}
        : { SHOULD_PERSIST_DATA: 'true', PERSIST_PATH: options.persistPath, PERSIST_INTERVAL: '1s' }),
    },
    ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
  });
}
