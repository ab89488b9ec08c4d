import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/** The path of promtool (Debian's prometheus package), or undefined. */
export async function findPromtool(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('sh', ['-c', 'command -v promtool']);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface PromtoolResult {
  readonly code: number | null;
  readonly output: string;
}

export function promtool(path: string, args: readonly string[], stdin?: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(stdin ?? '');
  });
}
