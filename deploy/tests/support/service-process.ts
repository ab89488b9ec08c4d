import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServiceProcessOptions {
  readonly name: string;
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process of a built bundle, with its output kept for the failure message. */
export class ServiceProcess {
  readonly name: string;
  readonly exited: Promise<Exit>;
  readonly #child: ChildProcess;
  readonly #output: string[] = [];

  constructor(options: ServiceProcessOptions) {
    this.name = options.name;
    const [file, ...args] = options.command;
    this.#child = spawn(file!, args, { cwd: options.cwd, env: { ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.#output.push(...chunk.toString().split('\n').filter(Boolean));
      this.#output.splice(0, Math.max(0, this.#output.length - 200));
    };
    this.#child.stdout?.on('data', keep);
    this.#child.stderr?.on('data', keep);
    this.exited = new Promise((resolve, reject) => {
      this.#child.once('error', reject);
      this.#child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get output(): string {
    return this.#output.join('\n');
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it is still there after the grace the services take by default. */
  async stop(): Promise<Exit> {
    this.signal('SIGTERM');
    const killer = setTimeout(() => this.signal('SIGKILL'), 15_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(killer);
    }
  }
}

/** Runs a one-shot command of a bundle to its end. */
export async function runToEnd(options: ServiceProcessOptions): Promise<Exit & { output: string }> {
  const process = new ServiceProcess(options);
  const exit = await process.exited;
  return { ...exit, output: process.output };
}

/**
 * Polls `probe` until it returns a value, at most `attempts` times, `intervalMs` apart. Stops
 * early when `alive` says the process it waits for has died.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { attempts: number; intervalMs: number; alive?: () => boolean; context?: () => string },
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    if (options.alive !== undefined && !options.alive()) break;
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(options.intervalMs);
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`${what} did not happen${reason}\n${options.context?.() ?? ''}`);
}
