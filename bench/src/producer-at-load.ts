import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { inParallel, type StackProcess } from '@records/local-stack/testing';
import getPort from 'get-port';
import { summarize } from './pacing.js';
import type { SuiteName } from './pipeline-run.js';
import { descendantsCpu, partName, scrape } from './process-stats.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const WARM_UP = 100;
const EMULATORS = new Set(['kinesis-local', 'moto (KMS)', 'dynalite', 'dynalite (in pnpm start)']);

export interface AtLoadRun {
  /** ENCRYPT_THREADS of the producer measured. */
  readonly threads: number;
  /** POSTs kept in flight (a closed loop). */
  readonly inFlight: number;
  readonly records: number;
  /** Further producer settings for this run (the bench's own runs set none). */
  readonly env?: Readonly<Record<string, string>>;
}

/** How an at-load producer sends its per-record AWS calls: through the SDK (AWS_LEAN_CALLS=false) or lean. */
export function awsCalls(run: AtLoadRun): 'SDK' | 'lean' {
  return run.env?.AWS_LEAN_CALLS === 'false' ? 'SDK' : 'lean';
}

export interface AtLoadRow extends AtLoadRun {
  readonly suite: SuiteName;
  readonly created: number;
  readonly recordsPerSecond: number;
  /** CPU µs per record of the producer process, every thread of it counted. */
  readonly producerUs: number;
  readonly putRecordsCallsPerRecord: number;
  readonly postP50Ms: number;
  readonly postP99Ms: number;
  /** Of the CPU the stack (emulators, services, this producer) used over the run, the emulators' share. */
  readonly emulatorShare: number;
}

const record = (index: number) => JSON.stringify({ id: `bench-${randomUUID()}`, index, text: 'x'.repeat(200) });

async function post(url: string, body: string): Promise<number> {
  const response = await fetch(`${url}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The environment the stack gave its producer, so another producer joins the same streams, keys and tables. */
async function producerEnvironment(running: StackProcess): Promise<NodeJS.ProcessEnv> {
  const text = await readFile(`/proc/${running.stack.producer.pid}/environ`, 'utf8');
  return Object.fromEntries(
    text
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

async function startProducer(env: NodeJS.ProcessEnv, profileDir: string | undefined) {
  const [port, metricsPort] = [await getPort(), await getPort()];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
      '--conditions=source',
      '--import',
      'tsx',
      join(REPO_ROOT, 'services/producer/src/main.ts'),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...env, PORT: String(port), METRICS_PORT: String(metricsPort), LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise((done) => child.once('exit', done));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 600; attempt++) {
    if (
      await fetch(`${url}/readyz`).then(
        (response) => response.ok,
        () => false,
      )
    )
      break;
    if (child.exitCode !== null) throw new Error('the at-load producer exited before it was ready');
    await sleep(100);
  }
  return {
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    pid: child.pid as number,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits (at most a minute) until the stack's consumers have written nothing new for a second. */
async function consumersQuiet(running: StackProcess): Promise<void> {
  const written = async () =>
    (
      await Promise.all(
        running.stack.consumers.map((consumer) => scrape(consumer.url, 'consumer_records_written_total')),
      )
    ).reduce((sum, count) => sum + count, 0);
  let last = await written();
  for (let attempt = 0; attempt < 60; attempt++) {
    await sleep(1_000);
    const now = await written();
    if (now === last) return;
    last = now;
  }
}

/**
 * A producer of its own beside the stack's (the same environment, on other ports) for each run,
 * with `threads` encryption threads and `inFlight` POSTs kept in flight: its CPU per record from
 * the kernel's accounting of the whole process (worker threads included), records a second, POST
 * latency, PutRecords calls per record, and the emulators' share of the CPU the stack used. With
 * `profileDir`, each producer writes a V8 CPU profile there (bench/results/profile.md).
 */
export async function measureAtLoad(
  running: StackProcess,
  options: { readonly suite: SuiteName; readonly runs: readonly AtLoadRun[]; readonly profileDir?: string },
): Promise<AtLoadRow[]> {
  const env = await producerEnvironment(running);
  const rows: AtLoadRow[] = [];
  for (const run of options.runs) {
    // The stack's consumers still store what the previous row posted: each row starts once they are
    // done, or it would share the cores (and dynalite) with them and the rows' order would count.
    await consumersQuiet(running);
    const producer = await startProducer(
      { ...env, ...run.env, ENCRYPT_THREADS: String(run.threads) },
      options.profileDir === undefined
        ? undefined
        : join(options.profileDir, `threads-${run.threads}-${run.inFlight}-${awsCalls(run)}`),
    );
    try {
      await inParallel(WARM_UP, run.inFlight, (index) => post(producer.url, record(index)));
      const calls = () => scrape(producer.metricsUrl, 'aws_requests_total', { operation: 'PutRecords' });
      const callsBefore = await calls();
      const stackBefore = await descendantsCpu(running.pid);
      const before = await cpuSeconds(producer.pid);
      const started = performance.now();
      let created = 0;
      const durations = await inParallel(run.records, run.inFlight, async (index) => {
        const sent = performance.now();
        if ((await post(producer.url, record(index))) === 201) created++;
        return performance.now() - sent;
      });
      const seconds = (performance.now() - started) / 1000;
      const used = (await cpuSeconds(producer.pid)) - before;
      const stackAfter = await descendantsCpu(running.pid);
      let emulators = 0;
      let total = used;
      for (const [pid, after] of stackAfter) {
        const spent = after.cpuSeconds - (stackBefore.get(pid)?.cpuSeconds ?? after.cpuSeconds);
        total += spent;
        if (EMULATORS.has(partName(after.command)) || after.command.startsWith('dynalite')) emulators += spent;
      }
      const latency = summarize(durations);
      rows.push({
        ...run,
        suite: options.suite,
        created,
        recordsPerSecond: run.records / seconds,
        producerUs: (used * 1e6) / run.records,
        putRecordsCallsPerRecord: ((await calls()) - callsBefore) / run.records,
        postP50Ms: latency.p50Ms,
        postP99Ms: latency.p99Ms,
        emulatorShare: total === 0 ? 0 : emulators / total,
      });
      const row = rows.at(-1) as AtLoadRow;
      console.log(
        `at load, ${run.threads} threads, ${run.inFlight} in flight, ${awsCalls(run)} AWS calls: ${row.recordsPerSecond.toFixed(0)}/s, ${row.producerUs.toFixed(0)} µs/record, emulators ${(row.emulatorShare * 100).toFixed(0)}% of the CPU`,
      );
    } finally {
      await producer.stop();
    }
  }
  return rows;
}
