import { rename, rm, writeFile } from 'node:fs/promises';
import { provisionStack } from './provision-stack.js';
import { ensurePrivateFolder } from './raw-aes-keys.js';
import { waitUntilReady } from './readiness.js';
import type { SupervisedService } from './service-supervisor.js';
import type { StackConfig } from './stack-config.js';
import { type StackEndpoints, startStackEndpoints } from './stack-endpoints.js';
import {
  type RunningConsumer,
  type RunningProducer,
  StackServices,
  startConsumers,
  startProducers,
} from './stack-services.js';

/** The shape of `.local/stack.json`: where everything runs. */
export interface StackDescription {
  /** The first producer: the one to post to when there is one. */
  readonly producer: { readonly url: string; readonly metricsUrl: string; readonly pid: number | undefined };
  /** Every producer, `PRODUCERS` of them, each taking records on its own port and sharing the hand-off work. */
  readonly producers: ReadonlyArray<{
    readonly url: string;
    readonly metricsUrl: string;
    readonly pid: number | undefined;
  }>;
  /** Every consumer, `CONSUMERS_PER_REGION` of them in each region, sharing its shards by lease. */
  readonly consumers: ReadonlyArray<{
    readonly region: string;
    /** Its place among the region's consumers, from 0. */
    readonly index: number;
    readonly url: string;
    readonly pid: number | undefined;
  }>;
  readonly stream: string;
  readonly table: string;
  readonly deadLetterTable: string;
  readonly checkpointTable: string;
  readonly wrappingKeys: 'kms' | 'raw-aes';
  readonly regions: Readonly<
    Record<string, { readonly kinesis: string; readonly dynamodb: string; readonly kms?: string }>
  >;
}

export interface StackHooks {
  /** Progress and warnings meant for the person who ran the command. */
  readonly say: (message: string) => void;
  readonly onServiceOutput: (service: string, line: string) => void;
}

export interface RunningStack {
  readonly description: StackDescription;
  readonly services: readonly SupervisedService[];
  stop(): Promise<void>;
}

// Local-only credentials for the emulators; the default chain wins whenever the user set any.
const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

function describeProducer(producer: RunningProducer) {
  return { url: producer.url, metricsUrl: producer.metricsUrl, pid: producer.service.pid };
}

function describeStack(
  config: StackConfig,
  endpoints: StackEndpoints,
  producers: readonly RunningProducer[],
  consumers: readonly RunningConsumer[],
): StackDescription {
  const { pipeline } = config;
  return {
    producer: describeProducer(producers[0] as RunningProducer),
    producers: producers.map(describeProducer),
    consumers: consumers.map(({ region, index, url, service }) => ({ region, index, url, pid: service.pid })),
    stream: pipeline.streamName,
    table: pipeline.tableName,
    deadLetterTable: pipeline.deadLetterTableName,
    checkpointTable: pipeline.checkpointTableName,
    wrappingKeys: endpoints.wrapping.kind,
    regions: endpoints.byRegion((region) => region),
  };
}

/** Written whole, then renamed: a reader never sees half a file. */
async function publishStackFile(path: string, description: StackDescription): Promise<void> {
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(description, null, 2)}\n`);
  await rename(partial, path);
}

/**
 * Starts the whole pipeline on this machine: emulators for whatever has no endpoint set, then
 * provisioning, then the producers and the consumers of every region as supervised processes, and
 * writes stack.json once all are ready (again whenever one is restarted).
 */
export async function startStack(config: StackConfig, hooks: StackHooks): Promise<RunningStack> {
  let endpoints: StackEndpoints | undefined;
  let describe: (() => StackDescription) | undefined;
  const republish = () => {
    if (describe === undefined) return;
    publishStackFile(config.stackFile, describe()).catch((error: unknown) =>
      hooks.say(`stack.json not updated: ${String(error)}`),
    );
  };
  const services = new StackServices({ onOutput: hooks.onServiceOutput, say: hooks.say, onRestart: republish });
  const stop = async () => {
    await services.stop();
    await endpoints?.emulators.stop();
    await rm(config.stackFile, { force: true });
  };
  try {
    // It holds local wrapping keys and the stack's data: only its owner may enter it.
    await ensurePrivateFolder(config.stateDirectory, { tighten: true });
    endpoints = await startStackEndpoints(config, hooks.say);
    hooks.say('provisioning keys, streams and tables');
    await provisionStack(config, endpoints);
    const { wrapping } = endpoints;
    const baseEnv: NodeJS.ProcessEnv = {
      ...(config.usesOwnCredentials ? {} : EMULATOR_CREDENTIALS),
      ...config.environment,
      AWS_REGION: config.pipeline.regions[0],
      ...(wrapping.kind === 'raw-aes' ? { WRAPPING_KEYS: 'raw-aes', RAW_AES_KEY_DIR: wrapping.keyDirectory } : {}),
    };
    const producers = await startProducers(config, endpoints, baseEnv, services);
    const consumers = await startConsumers(config, endpoints, baseEnv, services);
    await Promise.all([
      ...producers.map(({ url }, index) => waitUntilReady(`producer ${index}`, `${url}/readyz`, 120_000)),
      ...consumers.map(({ region, url }) => waitUntilReady(`consumer ${region}`, `${url}/readyz`, 120_000)),
    ]);
    const ready = endpoints;
    describe = () => describeStack(config, ready, producers, consumers);
    const description = describe();
    await publishStackFile(config.stackFile, description);
    return { description, services: services.all, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
