import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * A folder with a `pnpm` that runs the pnpm running these tests (`npx pnpm@… test` leaves none on
 * PATH), standing in for the toolchain stage's `npm install --global pnpm@…`. Undefined when the
 * tests were not started by pnpm.
 */
export async function pnpmShim(folder: string): Promise<string | undefined> {
  const pnpm = process.env.npm_execpath;
  if (pnpm === undefined || !basename(pnpm).startsWith('pnpm')) return undefined;
  await mkdir(folder, { recursive: true });
  const shim = join(folder, 'pnpm');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${pnpm}" "$@"\n`);
  await chmod(shim, 0o755);
  return folder;
}
