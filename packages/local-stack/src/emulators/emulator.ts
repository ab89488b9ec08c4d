import { type ChildProcess, spawn } from 'node:child_process';
import { retry } from '@records/retry';
import { EmulatorStartError } from '../errors.js';

/** A running emulator: where it answers, and how to stop it. */
export interface Emulator {
  readonly name: string;
  readonly endpoint: string;
  readonly pid?: number;
  stop(): Promise<void>;
}

/**
 * Resolves once an HTTP request to `url` gets any answer at all (with `requireOk`, a 2xx), polling
 * with back-off for at most `timeoutMs`. Fails at once when `child` exits meanwhile.
 */
export async function waitForHttp(
  name: string,
  url: string,
  options: { timeoutMs: number; child?: ChildProcess; requireOk?: boolean },
): Promise<void> {
  try {
    await retry(
      async () => {
        if (options.child !== undefined && options.child.exitCode !== null) {
          throw new EmulatorStartError(name, `exited with code ${options.child.exitCode} before answering on ${url}`);
        }
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (options.requireOk === true && !response.ok) throw new Error(`${url} answered ${response.status}`);
      },
      {
        attempts: Number.POSITIVE_INFINITY,
        minDelayMs: 100,
        maxDelayMs: 1_000,
        signal: AbortSignal.timeout(options.timeoutMs),
        shouldRetry: (error) => !(error instanceof EmulatorStartError),
      },
    );
  } catch (error) {
    if (error instanceof EmulatorStartError) throw error;
    throw new EmulatorStartError(name, `did not answer on ${url} in ${options.timeoutMs / 1000}s`, { cause: error });
  }
}

/** Sends SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ChildEmulatorOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly endpoint: string;
  readonly timeoutMs?: number;
  /** Receives the emulator's own output, line by line; dropped when unset. */
  readonly onOutput?: (line: string) => void;
}

/** Starts an emulator as a child process and resolves when it answers HTTP. */
export async function startChildEmulator(options: ChildEmulatorOptions): Promise<Emulator> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new EmulatorStartError(options.name, error.message, { cause: error }))),
  );
  spawnError.catch(() => {});
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (options.onOutput === undefined) return;
      for (const line of chunk.split('\n')) if (line.trim() !== '') options.onOutput(line);
    });
  }
  try {
    await Promise.race([
      waitForHttp(options.name, options.endpoint, { timeoutMs: options.timeoutMs ?? 30_000, child }),
      spawnError,
    ]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    name: options.name,
    endpoint: options.endpoint,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    stop: () => stopChild(child),
  };
}
