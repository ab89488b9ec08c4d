import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopChild } from '../emulators/emulator.js';

export interface SupervisedServiceOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Each line the service prints; the service's pino lines go here. */
  readonly onOutput: (name: string, line: string) => void;
  readonly onRestart?: (name: string, exitCode: number | null, signal: NodeJS.Signals | null, delayMs: number) => void;
  /** Told each time the process is (re)started, with its new pid. */
  readonly onStart?: (name: string, pid: number | undefined) => void;
  /** Waits out a restart back-off; rejects or resolves early when `signal` aborts. Tests replace it. */
  readonly backoff?: (delayMs: number, signal: AbortSignal) => Promise<unknown>;
}

// Docker's restart policy: the delay starts at 100 ms and doubles while the service keeps dying;
// a service that ran 10 s before dying is healthy again, and its delay starts over.
const HEALTHY_RUN_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Keeps one service process running, as a compose `restart: unless-stopped` policy would: a
 * process that dies is started again after a back-off that grows while it keeps dying.
 */
export class SupervisedService {
  readonly #options: SupervisedServiceOptions;
  #child: ChildProcess | undefined;
  readonly #stopped = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: SupervisedServiceOptions) {
    this.#options = options;
  }

  get name(): string {
    return this.#options.name;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    if (this.#child !== undefined) await stopChild(this.#child, 15_000);
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failuresInARow = 0;
    while (!this.#stopped.signal.aborted) {
      const startedAt = Date.now();
      const child = spawn(this.#options.command, this.#options.args, {
        cwd: this.#options.cwd,
        env: this.#options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.#child = child;
      this.#options.onStart?.(this.#options.name, child.pid);
      for (const stream of [child.stdout, child.stderr]) {
        let partial = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (line !== '') this.#options.onOutput(this.#options.name, line);
        });
      }
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
        child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
        child.once('error', () => resolve([null, null]));
      });
      if (this.#stopped.signal.aborted) return;
      failuresInARow = Date.now() - startedAt > HEALTHY_RUN_MS ? 1 : failuresInARow + 1;
      const delayMs = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (failuresInARow - 1));
      this.#options.onRestart?.(this.#options.name, code, signal, delayMs);
      // stop() cuts the back-off short; the loop condition then ends the run.
      const backoff = this.#options.backoff ?? ((ms, signal) => sleep(ms, undefined, { signal }));
      await backoff(delayMs, this.#stopped.signal).catch(() => {});
    }
  }
}
