import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Emulator, startChildEmulator } from './emulator.js';

/** The path of `moto_server` on PATH, or undefined when moto is not installed. */
export async function findMotoServer(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('sh', ['-c', 'command -v moto_server']);
    const path = stdout.trim();
    if (path === '') return undefined;
    // pyenv shims exist even where the command is missing from the active Python; ask it.
    await promisify(execFile)(path, ['--help'], { timeout: 20_000 });
    return path;
  } catch {
    return undefined;
  }
}

export interface MotoOptions {
  readonly port: number;
  readonly command?: string;
  readonly onOutput?: (line: string) => void;
}

/** moto's server mode: the KMS emulator, with regions kept apart. */
export function startMoto(options: MotoOptions): Promise<Emulator> {
  return startChildEmulator({
    name: 'moto_server',
    command: options.command ?? 'moto_server',
    args: ['-H', '127.0.0.1', '-p', String(options.port)],
    endpoint: `http://127.0.0.1:${options.port}/moto-api/`,
    ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
  }).then((emulator) => ({ ...emulator, endpoint: `http://127.0.0.1:${options.port}` }));
}
