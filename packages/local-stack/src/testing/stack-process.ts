import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StackDescription } from '@records/local-stack';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');

export interface StackProcess {
  readonly stack: StackDescription;
  readonly directory: string;
  /** The `pnpm start` process itself; everything it started runs below it. */
  readonly pid: number;
  readonly output: () => string;
  /** Closes the pipes it writes its output to, as a terminal that has gone away does. */
  closeOutput(): void;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs `pnpm start`'s entry point exactly as the README's command does, on free ports and in a
 * scratch state directory, and waits for it to write stack.json.
 */
export async function startStackProcess(env: NodeJS.ProcessEnv = {}): Promise<StackProcess> {
  const directory = await mkdtemp(join(tmpdir(), 'records-stack-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'packages/local-stack/src/main.ts'],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PRODUCER_PORT: '0',
        PRODUCER_METRICS_PORT: '0',
        CONSUMER_BASE_PORT: '0',
        STACK_DIR: directory,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const code = await exited;
    await rm(directory, { recursive: true, force: true });
    return code;
  };
  for (let attempt = 0; attempt < 600; attempt++) {
    const text = await readFile(join(directory, 'stack.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const closeOutput = () => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      };
      return { stack: JSON.parse(text), directory, pid: child.pid as number, output: () => output, closeOutput, stop };
    }
    if (child.exitCode !== null) break;
    await sleep(250);
  }
  await stop();
  throw new Error(`the stack did not start:\n${output}`);
}

/** Polls until `check` returns a value, or gives up after `attempts` tries. */
export async function eventually<T>(check: () => Promise<T | undefined>, attempts = 240, delayMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    if (attempt >= attempts) throw new Error('condition not met in time');
    await sleep(delayMs);
  }
}
