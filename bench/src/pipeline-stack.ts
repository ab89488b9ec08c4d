import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StackDescription } from '@records/local-stack';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** `pnpm start` as a process of its own: the real producer and consumers over the emulators. */
export interface PipelineStack {
  readonly stack: StackDescription;
  /** The process `pnpm start` runs; every service and emulator runs below it. */
  readonly pid: number;
  stop(): Promise<void>;
}

const started = new Set<PipelineStack>();

/** Stops every stack still running, for a benchmark that has to give up. */
export async function stopPipelineStacks(): Promise<void> {
  await Promise.allSettled([...started].map((stack) => stack.stop()));
}

/** Starts `pnpm start`'s entry point on free loopback ports with `env` added, and waits for stack.json. */
export async function startPipelineStack(env: NodeJS.ProcessEnv): Promise<PipelineStack> {
  const directory = await mkdtemp(join(tmpdir(), 'records-bench-'));
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
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = `${output}${chunk}`.slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(directory, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 600 && child.exitCode === null; attempt++) {
    const text = await readFile(join(directory, 'stack.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const running: PipelineStack = {
        stack: JSON.parse(text),
        pid: child.pid as number,
        stop: async () => {
          started.delete(running);
          await stop();
        },
      };
      started.add(running);
      return running;
    }
    await sleep(250);
  }
  await stop();
  throw new Error(`the pipeline did not start:\n${output}`);
}
