import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';

const consumerRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Builds the bundle a user uploads, with the package's own script. Returns the handler file. */
export async function bundleLambda(): Promise<string> {
  await promisify(execFile)(process.execPath, [join(consumerRoot, 'scripts', 'bundle-lambda.mjs')]);
  return join(consumerRoot, 'dist-lambda', 'index.mjs');
}

// Stands in for the Lambda runtime: one execution environment, invoked once per event, in order.
// The answers go to file descriptor 3: stdout carries the handler's own log lines, as in Lambda.
const RUNTIME = `
import { writeSync } from 'node:fs';
const { handler } = await import(process.env.HANDLER_URL);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const answers = [];
for (const event of JSON.parse(input)) {
  answers.push(await handler(event, { getRemainingTimeInMillis: () => 60_000 }));
}
writeSync(3, JSON.stringify(answers));
`;

/**
 * Runs the bundled handler in a process of its own, as Lambda does: configuration comes only from
 * the environment, and every event is one invocation of the same loaded module.
 */
export async function invokeBundle(
  handlerFile: string,
  env: Readonly<Record<string, string>>,
  events: readonly KinesisStreamEvent[],
): Promise<KinesisStreamBatchResponse[]> {
  return (await runBundle(handlerFile, env, events)).answers;
}

/** As `invokeBundle`, with what the handler printed on stdout (what Lambda sends to CloudWatch Logs), by line. */
export async function runBundle(
  handlerFile: string,
  env: Readonly<Record<string, string>>,
  events: readonly KinesisStreamEvent[],
): Promise<{ answers: KinesisStreamBatchResponse[]; stdout: string[] }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNTIME], {
    env: { PATH: process.env.PATH, ...env, HANDLER_URL: pathToFileURL(handlerFile).href },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let answers = '';
  let stderr = '';
  let stdout = '';
  child.stdio[3]?.on('data', (chunk) => {
    answers += chunk;
  });
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(JSON.stringify(events));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`the handler process exited ${code}: ${stderr.slice(-2000)}`);
  return {
    answers: JSON.parse(answers) as KinesisStreamBatchResponse[],
    stdout: stdout.split('\n').filter((line) => line !== ''),
  };
}
