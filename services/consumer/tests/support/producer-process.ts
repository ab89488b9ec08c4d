import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kinesisEndpoint, motoEndpoint, regions } from './emulators.js';
import type { PipelineFixture } from './pipeline-fixture.js';

const ENTRY = resolve(import.meta.dirname, '../../../producer/src/main.ts');

export interface StreamPosition {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** What a producer answers: its status, and the body of a 201 or the error code otherwise. */
export interface PostAnswer {
  readonly status: number;
  readonly version?: string;
  readonly regions?: Readonly<Record<string, StreamPosition>>;
  readonly code?: string;
  readonly retryAfter?: string | null;
}

export interface ProducerProcess {
  readonly url: string;
  readonly metricsUrl: string;
  post(record: object): Promise<PostAnswer>;
  /** The value of one unlabelled metric line (or labelled, as `name{label="x"}`), 0 when absent. */
  metric(series: string): Promise<number>;
  readiness(): Promise<{ status: number; code?: string }>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** The producer's own `main.ts` as a process of its own, pointed at the fixture's stream and keys. */
export async function startProducerProcess(
  pipeline: PipelineFixture,
  env: Readonly<Record<string, string>> = {},
): Promise<ProducerProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const child: ChildProcess = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: regions[0],
      AWS_ENDPOINT_URL_KINESIS: kinesisEndpoint(),
      AWS_ENDPOINT_URL_KMS: motoEndpoint(),
      STREAM_NAME: pipeline.streamName,
      KMS_KEY_ALIAS: pipeline.kmsKeyAlias,
      REGIONS: regions.join(','),
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      // Every region is up here, and the hand-off tables would need DynamoDB endpoints of their own.
      HANDOFF: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = `${output}${chunk}`.slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; ; attempt++) {
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (attempt > 240 || child.exitCode !== null) {
      await stop();
      throw new Error(`the producer did not start:\n${output}`);
    }
    await sleep(250);
  }
  return {
    url,
    metricsUrl,
    async post(record) {
      const response = await fetch(`${url}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(record),
      });
      const body = (await response.json()) as {
        version?: string;
        regions?: Record<string, StreamPosition>;
        error?: { code: string };
      };
      return {
        status: response.status,
        ...(body.version === undefined ? {} : { version: body.version }),
        ...(body.regions === undefined ? {} : { regions: body.regions }),
        ...(body.error === undefined ? {} : { code: body.error.code }),
        retryAfter: response.headers.get('retry-after'),
      };
    },
    async metric(series) {
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.split(' ')[1]);
    },
    async readiness() {
      const response = await fetch(`${url}/readyz`);
      const body = (await response.json()) as { error?: { code: string } };
      return { status: response.status, ...(body.error === undefined ? {} : { code: body.error.code }) };
    },
    stop,
  };
}
