import { rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AwsClients } from '@records/aws-clients';
import { provisionPipeline } from '@records/provisioning';
import getPort from 'get-port';
import { type EmulatorSet, startEmulatorSet } from '../emulators/emulator-set.js';
import { ensurePrivateFolder, ensureRawAesKeys } from './raw-aes-keys.js';
import { waitUntilReady } from './readiness.js';
import { SupervisedService } from './service-supervisor.js';
import type { StackConfig } from './stack-config.js';

/** The shape of `.local/stack.json`: where everything runs. */
export interface StackDescription {
  readonly producer: { readonly url: string; readonly metricsUrl: string; readonly pid: number | undefined };
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

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const SERVICE_ENTRY = {
  producer: join(REPO_ROOT, 'services/producer/src/main.ts'),
  consumer: join(REPO_ROOT, 'services/consumer/src/main.ts'),
};
// Local-only credentials for the emulators; the default chain wins whenever the user set any.
const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

async function port(preferred: number): Promise<number> {
  return preferred === 0 ? getPort() : preferred;
}

/**
 * Starts the whole pipeline on this machine: emulators for whatever has no endpoint set, then
 * provisioning, then the producer and `CONSUMERS_PER_REGION` consumers per region as supervised processes.
 */
export async function startStack(config: StackConfig, hooks: StackHooks): Promise<RunningStack> {
  const { pipeline } = config;
  const { usesOwnCredentials } = config;
  const wantsKms = pipeline.wrappingKeys.kind === 'kms' && config.external.kms === undefined;
  let emulators: EmulatorSet | undefined;
  const services: SupervisedService[] = [];
  const stop = async () => {
    await Promise.allSettled(services.map((service) => service.stop()));
    await emulators?.stop();
    await rm(config.stackFile, { force: true });
  };
  try {
    // It holds local wrapping keys and the stack's data: only its owner may enter it.
    await ensurePrivateFolder(config.stateDirectory, { tighten: true });
    emulators = await startEmulatorSet({
      regions: pipeline.regions,
      services: {
        kinesis: config.external.kinesis === undefined,
        dynamodb: config.external.dynamodb === undefined,
        kms: wantsKms,
      },
      ...(config.persist ? { dataDirectory: join(config.stateDirectory, 'data') } : {}),
    });
    const { endpoints } = emulators;
    let wrapping = pipeline.wrappingKeys;
    if (emulators.kmsMissing) {
      hooks.say(
        'moto_server is not on PATH, so there is no KMS emulator here. Falling back to one local AES ' +
          `wrapping key per region, kept in ${join(config.stateDirectory, 'keys')}. Install moto (pip install 'moto[server]') to use KMS.`,
      );
      const keyDirectory = join(config.stateDirectory, 'keys');
      await ensureRawAesKeys(keyDirectory, pipeline.regions);
      wrapping = { kind: 'raw-aes', keyDirectory };
    }
    type RegionEndpoints = { kinesis: string; dynamodb: string; kms?: string };
    const endpointsOf = (region: string): RegionEndpoints => {
      const kinesis = config.external.kinesis ?? endpoints.kinesis;
      const dynamodb = config.external.dynamodb ?? endpoints.dynamodb?.[region];
      const kms = wrapping.kind === 'kms' ? (config.external.kms ?? endpoints.kms) : undefined;
      if (kinesis === undefined || dynamodb === undefined) throw new Error(`no endpoints for ${region}`);
      return { kinesis, dynamodb, ...(kms === undefined ? {} : { kms }) };
    };
    const byRegion = <T>(pick: (endpoints: RegionEndpoints) => T) =>
      Object.fromEntries(pipeline.regions.map((region) => [region, pick(endpointsOf(region))]));

    const clients = new AwsClients({
      ...(usesOwnCredentials ? {} : { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
      endpoints: {
        kinesis: byRegion((region) => region.kinesis),
        dynamodb: byRegion((region) => region.dynamodb),
        ...(wrapping.kind === 'kms' ? { kms: config.external.kms ?? (endpoints.kms as string) } : {}),
      },
    });
    try {
      hooks.say('provisioning keys, streams and tables');
      await provisionPipeline({
        clients,
        regions: pipeline.regions,
        streamName: pipeline.streamName,
        shardCount: config.shardCount,
        tableNames: [pipeline.tableName, pipeline.deadLetterTableName, pipeline.checkpointTableName],
        ...(wrapping.kind === 'kms' ? { kmsKeyAlias: wrapping.alias } : {}),
      });
    } finally {
      clients.destroy();
    }

    let describe: (() => StackDescription) | undefined;
    let published = false;
    // Written whole, then renamed: a reader never sees half a file.
    const publish = async () => {
      if (describe === undefined) return;
      const partial = `${config.stackFile}.${process.pid}.tmp`;
      await writeFile(partial, `${JSON.stringify(describe(), null, 2)}\n`);
      await rename(partial, config.stackFile);
    };
    const baseEnv: NodeJS.ProcessEnv = {
      ...(usesOwnCredentials ? {} : EMULATOR_CREDENTIALS),
      ...config.environment,
      AWS_REGION: pipeline.regions[0],
      ...(wrapping.kind === 'raw-aes' ? { WRAPPING_KEYS: 'raw-aes', RAW_AES_KEY_DIR: wrapping.keyDirectory } : {}),
    };
    const spawnService = (name: string, entry: string, env: NodeJS.ProcessEnv) => {
      const service = new SupervisedService({
        name,
        command: process.execPath,
        args: ['--conditions=source', '--import', 'tsx', entry],
        cwd: REPO_ROOT,
        env,
        onOutput: hooks.onServiceOutput,
        onRestart: (service, code, signal, delayMs) =>
          hooks.say(`${service} exited (code ${code}, signal ${signal}); restarting in ${delayMs} ms`),
        // A restarted service has a new pid: stack.json says so.
        onStart: () => {
          if (published)
            void publish().catch((error: unknown) => hooks.say(`stack.json not updated: ${String(error)}`));
        },
      });
      services.push(service);
      service.start();
      return service;
    };

    const producerPort = await port(config.producerPort);
    const producerMetricsPort = await port(config.producerMetricsPort);
    const firstRegion = pipeline.regions[0] as string;
    const producerEndpoints = endpointsOf(firstRegion);
    const producer = spawnService('producer', SERVICE_ENTRY.producer, {
      ...baseEnv,
      PORT: String(producerPort),
      METRICS_PORT: String(producerMetricsPort),
      HOST: '127.0.0.1',
      AWS_ENDPOINT_URL_KINESIS: producerEndpoints.kinesis,
      ...(producerEndpoints.kms === undefined ? {} : { AWS_ENDPOINT_URL_KMS: producerEndpoints.kms }),
    });
    const perRegion = config.consumersPerRegion;
    const consumers = await Promise.all(
      pipeline.regions.flatMap((region, regionIndex) =>
        Array.from({ length: perRegion }, async (_, index) => {
          const offset = regionIndex * perRegion + index;
          const consumerPort = await port(config.consumerBasePort === 0 ? 0 : config.consumerBasePort + offset);
          const { kinesis, dynamodb, kms } = endpointsOf(region);
          const name = perRegion === 1 ? `consumer-${region}` : `consumer-${region}-${index}`;
          const service = spawnService(name, SERVICE_ENTRY.consumer, {
            ...baseEnv,
            REGION: region,
            // Its index is its identity: restarted, it takes its own leases back at once.
            WORKER_ID: `${region}-consumer-${index}`,
            PORT: String(consumerPort),
            HOST: '127.0.0.1',
            AWS_ENDPOINT_URL_KINESIS: kinesis,
            AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
            ...(kms === undefined ? {} : { AWS_ENDPOINT_URL_KMS: kms }),
          });
          return { region, index, url: `http://127.0.0.1:${consumerPort}`, service };
        }),
      ),
    );
    const producerUrl = `http://127.0.0.1:${producerPort}`;
    await Promise.all([
      waitUntilReady('producer', `${producerUrl}/readyz`, 120_000),
      ...consumers.map(({ region, url }) => waitUntilReady(`consumer ${region}`, `${url}/readyz`, 120_000)),
    ]);

    describe = (): StackDescription => ({
      producer: { url: producerUrl, metricsUrl: `http://127.0.0.1:${producerMetricsPort}`, pid: producer.pid },
      consumers: consumers.map(({ region, index, url, service }) => ({ region, index, url, pid: service.pid })),
      stream: pipeline.streamName,
      table: pipeline.tableName,
      deadLetterTable: pipeline.deadLetterTableName,
      checkpointTable: pipeline.checkpointTableName,
      wrappingKeys: wrapping.kind,
      regions: byRegion((region) => region),
    });
    await publish();
    published = true;
    return { description: describe(), services, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
