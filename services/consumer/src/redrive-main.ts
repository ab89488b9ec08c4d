/**
 * `pnpm redrive`: puts dead letters through the consumer's decrypt, verify and write path again.
 *
 *   pnpm redrive --region eu-west-1 [--reason DECRYPT_FAILED ...] [--since 2026-12-01T00:00:00Z] [--until …]
 *   pnpm redrive --stack .local/stack.json --region eu-west-1 …   (endpoints and names of `pnpm start`)
 *   pnpm redrive --region eu-west-1 --queue <url> [--delete-gone]   (the Lambda's on-failure queue;
 *                                                                   or REDRIVE_QUEUE_URL)
 *
 * Configuration is the consumer's (the README's variables); the flags choose what to redrive: the
 * dead-letter table, or, with a queue, the stream ranges Lambda's event source mapping gave up on.
 * Prints a JSON summary; exits 1 when the redrive could not finish (run it again: it is idempotent).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AwsClients, createAwsRequestMetrics, type EndpointOverride } from '@records/aws-clients';
import { resolveWrappingKeys } from '@records/envelope';
import { createServiceRegistry } from '@records/observability';
import { hasOwnAwsCredentials } from '@records/pipeline-config';
import { pino } from 'pino';
import { loadConsumerConfig } from './config.js';
import { DeadLetterStore } from './dead-letter-store.js';
import { redriveOnFailureQueue } from './on-failure-redrive.js';
import { createRecordPipeline } from './record-pipeline.js';
import { redriveDeadLetters } from './redrive.js';

const { values } = parseArgs({
  options: {
    region: { type: 'string' },
    reason: { type: 'string', multiple: true },
    since: { type: 'string' },
    until: { type: 'string' },
    stack: { type: 'string' },
    queue: { type: 'string' },
    'delete-gone': { type: 'boolean' },
  },
  strict: true,
});

function time(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new Error(`--${flag} must be an ISO 8601 time, got "${value}"`);
  return at;
}

interface StackFile {
  readonly stream: string;
  readonly table: string;
  readonly deadLetterTable: string;
  readonly wrappingKeys: 'kms' | 'raw-aes';
  readonly regions: Record<string, { kinesis: string; dynamodb: string; kms?: string }>;
}

/** What `pnpm start` wrote about its stack, as the consumer's variables and endpoints. */
async function fromStack(path: string) {
  const stack = JSON.parse(await readFile(path, 'utf8')) as StackFile;
  const regions = Object.keys(stack.regions);
  const env: Record<string, string> = {
    REGIONS: regions.join(','),
    STREAM_NAME: stack.stream,
    TABLE_NAME: stack.table,
    DEAD_LETTER_TABLE_NAME: stack.deadLetterTable,
    ...(stack.wrappingKeys === 'raw-aes'
      ? { WRAPPING_KEYS: 'raw-aes', RAW_AES_KEY_DIR: join(dirname(path), 'keys') }
      : {}),
  };
  const each = (pick: (endpoints: StackFile['regions'][string]) => string | undefined) =>
    Object.fromEntries(
      regions.flatMap((region) => {
        const endpoint = pick(stack.regions[region] as StackFile['regions'][string]);
        return endpoint === undefined ? [] : [[region, endpoint]];
      }),
    );
  const endpoints: Record<string, EndpointOverride> = {
    kinesis: each((e) => e.kinesis),
    dynamodb: each((e) => e.dynamodb),
    kms: each((e) => e.kms),
  };
  return { env, endpoints };
}

const queueUrl = values.queue ?? (process.env.REDRIVE_QUEUE_URL?.trim() || undefined);
if (queueUrl !== undefined && [values.reason, values.since, values.until].some((value) => value !== undefined)) {
  throw new Error('--reason, --since and --until choose dead letters; they do not apply with --queue');
}
if (queueUrl === undefined && values['delete-gone'] === true)
  throw new Error('--delete-gone applies only with --queue');
const stack = values.stack === undefined ? undefined : await fromStack(resolve(values.stack));
const config = loadConsumerConfig({
  ...stack?.env,
  ...process.env,
  ...(values.region === undefined ? {} : { REGION: values.region }),
});
// Logs go to stderr: stdout carries only the summary.
const logger = pino(
  { level: config.logLevel, base: { service: 'redrive', region: config.region } },
  pino.destination(2),
);
const registry = createServiceRegistry();
const clients = new AwsClients({
  observer: createAwsRequestMetrics(registry),
  leanCalls: config.pipeline.leanAwsCalls,
  ...(stack === undefined ? {} : { endpoints: stack.endpoints }),
  // The emulators' placeholder credentials, unless the environment has its own.
  ...(stack !== undefined && !hasOwnAwsCredentials(process.env)
    ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
    : {}),
});
try {
  const keys = await resolveWrappingKeys({
    settings: config.pipeline.wrappingKeys,
    regions: [config.region],
    kms: (region) => clients.kms(region),
  });
  const records = createRecordPipeline({ config, clients, keys, registry, logger });
  const processorFor = (streamName: string) => records.processorFor(streamName);
  const summary =
    queueUrl === undefined
      ? await redriveDeadLetters(
          {
            store: new DeadLetterStore(clients.dynamodb(config.region), config.pipeline.deadLetterTableName),
            processorFor,
            logger,
          },
          {
            ...(values.reason === undefined ? {} : { reasons: values.reason }),
            ...(values.since === undefined ? {} : { since: time('since', values.since) }),
            ...(values.until === undefined ? {} : { until: time('until', values.until) }),
          },
        )
      : await redriveOnFailureQueue({
          sqs: clients.sqs(config.region),
          queueUrl,
          kinesis: clients.kinesis(config.region),
          region: config.region,
          processorFor,
          logger,
          deleteGone: values['delete-gone'] === true,
        });
  records.close();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (error) {
  logger.error({ err: error }, 'redrive did not finish; run it again');
  process.exitCode = 1;
} finally {
  clients.destroy();
}
