import { randomUUID } from 'node:crypto';
import { AwsClients } from '@records/aws-clients';
import { type ResolvedWrappingKeys, resolveWrappingKeys } from '@records/envelope';
import { type EmulatorSet, startEmulatorSet } from '@records/local-stack';
import { KmsProxy } from '@records/local-stack/testing';
import { DEFAULT_REGIONS, loadPipelineSettings } from '@records/pipeline-config';
import { buildApp, createProducer } from '@records/producer';
import { provisionPipeline } from '@records/provisioning';
import { pino } from 'pino';
import { Registry } from 'prom-client';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const running = new Set<EmulatorSet>();

/** Stops every emulator this module started, for a benchmark that has to give up. */
export async function stopProducerStacks(): Promise<void> {
  await Promise.allSettled([...running].map((emulators) => emulators.stop()));
}

/** kinesis-local and moto on loopback, KMS behind the recording proxy, one stream in two regions. */
export interface ProducerStack {
  readonly proxy: KmsProxy;
  readonly clients: AwsClients;
  readonly keys: ResolvedWrappingKeys;
  readonly streamName: string;
  readonly alias: string;
}

/** A producer app listening on a loopback port, with its own registry (and so its own cache). */
export interface RunningProducer {
  readonly url: string;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** Runs `work` against a fresh stack and stops it afterwards. */
export async function withProducerStack<T>(work: (stack: ProducerStack) => Promise<T>): Promise<T> {
  const emulators = await startEmulatorSet({
    regions: DEFAULT_REGIONS,
    services: { kinesis: true, dynamodb: false, kms: true },
  });
  running.add(emulators);
  try {
    const { kinesis, kms } = emulators.endpoints;
    if (emulators.kmsMissing || kms === undefined || kinesis === undefined) {
      throw new Error('moto_server is not on PATH; the benchmark needs it');
    }
    const proxy = await KmsProxy.start(kms);
    const clients = new AwsClients({ endpoints: { kinesis, kms: proxy.url }, credentials });
    try {
      const streamName = `bench-${randomUUID()}`;
      const alias = `alias/${streamName}`;
      await provisionPipeline({
        clients,
        regions: DEFAULT_REGIONS,
        streamName,
        shardCount: 2,
        tableNames: [],
        kmsKeyAlias: alias,
      });
      const keys = await resolveWrappingKeys({
        settings: { kind: 'kms', alias },
        regions: DEFAULT_REGIONS,
        kms: (region) => clients.kms(region),
      });
      return await work({ proxy, clients, keys, streamName, alias });
    } finally {
      clients.destroy();
      await proxy.close();
    }
  } finally {
    running.delete(emulators);
    await emulators.stop();
  }
}

/** The real producer (`createProducer` + `buildApp`) over the stack, as `main.ts` wires it. */
export async function startProducer(
  stack: ProducerStack,
  cache: { refreshAhead: boolean; maxMessages: number },
): Promise<RunningProducer> {
  const registry = new Registry();
  const logger = pino({ level: 'silent' });
  const pipeline = loadPipelineSettings(
    {
      STREAM_NAME: stack.streamName,
      KMS_KEY_ALIAS: stack.alias,
      REGIONS: DEFAULT_REGIONS.join(','),
      CACHE_MAX_MESSAGES: String(cache.maxMessages),
      CACHE_REFRESH_AHEAD: String(cache.refreshAhead),
    },
    { cacheMaxAgeSeconds: 300, refreshAhead: true },
  );
  const producer = createProducer({ pipeline, clients: stack.clients, keys: stack.keys, registry, logger });
  const app = await buildApp({
    logger,
    registry,
    metrics: producer.metrics,
    ingest: producer.ingest,
    isReady: () => true,
    bodyLimit: 64 * 1024,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    registry,
    close: async () => {
      await app.close();
      producer.close();
    },
  };
}
