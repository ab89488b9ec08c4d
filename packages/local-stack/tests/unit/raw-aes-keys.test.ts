import { chmod, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensurePrivateFolder, ensureRawAesKeys } from '../../src/stack/raw-aes-keys.js';

const regions = ['us-east-1', 'eu-west-1'];

describe('Function: ensureRawAesKeys', () => {
  it('creates one private 32-byte key per region in a private folder, once', async () => {
    // Prepare
    const directory = join(await mkdtemp(join(tmpdir(), 'stack-')), 'keys');

    // Act
    await ensureRawAesKeys(directory, regions);
    const first = await readFile(join(directory, 'us-east-1.key'), 'utf8');
    await ensureRawAesKeys(directory, regions);

    // Assess
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    for (const region of regions) {
      const path = join(directory, `${region}.key`);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64')).toHaveLength(32);
    }
    expect(await readFile(join(directory, 'us-east-1.key'), 'utf8')).toBe(first);
  });

  it('never replaces a key path that cannot be read as a key file', async () => {
    // Prepare: a folder where the key file should be
    const directory = await mkdtemp(join(tmpdir(), 'keys-'));
    await chmod(directory, 0o700);
    await mkdir(join(directory, 'us-east-1.key'));

    // Act
    const act = ensureRawAesKeys(directory, regions);

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'UNSAFE_KEY_FILE' });
    expect((await stat(join(directory, 'us-east-1.key'))).isDirectory()).toBe(true);
  });

  it('refuses an existing key file, or a folder, that others may read', async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), 'keys-'));
    await chmod(directory, 0o700);
    await writeFile(join(directory, 'us-east-1.key'), 'old key', { mode: 0o644 });
    const open = await mkdtemp(join(tmpdir(), 'open-'));
    await chmod(open, 0o755);

    // Act & Assess
    await expect(ensureRawAesKeys(directory, regions)).rejects.toThrow('mode 644');
    expect(await readFile(join(directory, 'us-east-1.key'), 'utf8')).toBe('old key');
    await expect(ensurePrivateFolder(open)).rejects.toThrow('mode 755');
  });
});
