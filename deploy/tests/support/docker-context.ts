import { copyFile, mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * .dockerignore as Docker reads it: one pattern a line, `#` comments, `*` and `?` within a path
 * segment, `**` across segments, `!` to re-include; the last pattern that matches decides, and a
 * pattern that matches a folder excludes everything under it.
 */
export interface DockerIgnore {
  excludes(path: string): boolean;
  /** True when no `!` pattern could re-include something under an excluded folder. */
  readonly prunable: boolean;
}

interface Rule {
  readonly negated: boolean;
  readonly pattern: RegExp;
}

function toRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index]!;
    if (char === '*' && glob[index + 1] === '*') {
      const slash = glob[index + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      index += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function parseDockerIgnore(text: string): DockerIgnore {
  const rules: Rule[] = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const glob = (negated ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negated, pattern: toRegExp(glob) };
    });
  return {
    prunable: rules.every((rule) => !rule.negated),
    excludes(path: string): boolean {
      const segments = path.split('/');
      // The path itself or any folder above it.
      const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
      let excluded = false;
      for (const rule of rules) {
        if (candidates.some((candidate) => rule.pattern.test(candidate))) excluded = !rule.negated;
      }
      return excluded;
    },
  };
}

/** Copies what `docker build` would send as the context of `root` into `destination`. */
export async function copyBuildContext(root: string, destination: string): Promise<string[]> {
  const ignore = parseDockerIgnore(await readFile(join(root, '.dockerignore'), 'utf8').catch(() => ''));
  const copied: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(root, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const excluded = ignore.excludes(path);
      if (entry.isDirectory()) {
        if (excluded && ignore.prunable) continue;
        await walk(path);
        continue;
      }
      if (excluded) continue;
      await mkdir(join(destination, relative), { recursive: true });
      if (entry.isSymbolicLink()) await symlink(await readlink(join(root, path)), join(destination, path));
      else await copyFile(join(root, path), join(destination, path));
      copied.push(path);
    }
  };
  await walk('');
  return copied.sort();
}
