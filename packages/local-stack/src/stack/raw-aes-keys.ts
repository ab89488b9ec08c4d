import { randomBytes } from 'node:crypto';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsafeKeyFileError } from '../errors.js';

/** Refuses a file or folder that anyone but its owner may read or write. */
async function checkPrivate(path: string, kind: 'file' | 'folder'): Promise<void> {
  const info = await stat(path);
  if (kind === 'file' ? !info.isFile() : !info.isDirectory()) {
    throw new UnsafeKeyFileError(path, `is not a ${kind}; it is left as it is`);
  }
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw new UnsafeKeyFileError(
      path,
      `has mode ${mode}: only its owner may read it (chmod ${kind === 'file' ? '600' : '700'})`,
    );
  }
}

/**
 * Makes a folder that only its owner can enter, or checks that an existing one is. With `tighten`,
 * an existing folder of ours (the stack's state, made by an older version) is made private instead.
 */
export async function ensurePrivateFolder(directory: string, options: { tighten?: boolean } = {}): Promise<void> {
  const created = await mkdir(directory, { recursive: true, mode: 0o700 });
  // mkdir's mode is masked by the umask, and applies only to what it created.
  if (created !== undefined || options.tighten === true) await chmod(directory, 0o700);
  await checkPrivate(directory, 'folder');
}

/**
 * Makes one local AES-256 wrapping key per region, once, for machines without a KMS emulator.
 * Keys are kept so records written in an earlier run still decrypt: a key file is created
 * exclusively and never overwritten, whatever is wrong with the one there (that would orphan every
 * record under it), and a key file or folder others can read is refused.
 */
export async function ensureRawAesKeys(directory: string, regions: readonly string[]): Promise<void> {
  await ensurePrivateFolder(directory);
  for (const region of regions) {
    const path = join(directory, `${region}.key`);
    try {
      await writeFile(path, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await checkPrivate(path, 'file');
  }
}
