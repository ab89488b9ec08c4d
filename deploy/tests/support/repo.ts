import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The repository root: deploy/tests/support is three folders below it. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function readRepoFile(path: string): Promise<string> {
  return readFile(new URL(path, `file://${repoRoot}`), 'utf8');
}

/** On CI a missing tool fails the run; elsewhere the suite that needs it skips with this reason. */
export function missingToolReason(tool: string, install: string): string | undefined {
  if (process.env.CI === 'true') return undefined;
  return `${tool} is not installed (${install}); CI installs it and runs these checks`;
}
