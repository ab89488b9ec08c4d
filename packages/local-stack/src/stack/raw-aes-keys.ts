import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Makes one local AES-256 wrapping key per region, once, for machines without a KMS emulator.
 * Keys are kept so records written in an earlier run still decrypt.
 */
export async function ensureRawAesKeys(directory: string, regions: readonly string[]): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  for (const region of regions) {
    const path = join(directory, `${region}.key`);
    const existing = await readFile(path, 'utf8').catch(() => undefined);
    if (existing !== undefined) continue;
    await writeFile(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  }
}
