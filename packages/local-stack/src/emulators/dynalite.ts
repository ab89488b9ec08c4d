import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import type { Emulator } from './emulator.js';

export interface DynaliteOptions {
  readonly port: number;
  /** Keeps tables on disk across restarts when set; in memory otherwise. */
  readonly path?: string;
}

/** One dynalite per region: dynalite ignores the signing region, so regions need separate instances. */
export async function startDynalite(options: DynaliteOptions): Promise<Emulator> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    name: 'dynalite',
    endpoint: `http://127.0.0.1:${port}`,
    pid: process.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
