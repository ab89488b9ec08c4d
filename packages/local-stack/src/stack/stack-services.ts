import { join, resolve } from 'node:path';
import getPort from 'get-port';
import { SupervisedService } from './service-supervisor.js';
import type { StackConfig } from './stack-config.js';
import type { StackEndpoints } from './stack-endpoints.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
const SERVICE_ENTRY = {
  producer: join(REPO_ROOT, 'services/producer/src/main.ts'),
  consumer: join(REPO_ROOT, 'services/consumer/src/main.ts'),
};

export interface RunningProducer {
  readonly url: string;
  readonly metricsUrl: string;
  readonly service: SupervisedService;
}

export interface RunningConsumer {
  readonly region: string;
  /** Its place among the region's consumers, from 0: also its identity (WORKER_ID). */
  readonly index: number;
  readonly url: string;
  readonly service: SupervisedService;
}

export interface StackServicesOptions {
  readonly onOutput: (service: string, line: string) => void;
  readonly say: (message: string) => void;
  /** A service was started again by its supervisor (it has a new pid). */
  readonly onRestart: () => void;
}

async function port(preferred: number): Promise<number> {
  return preferred === 0 ? getPort() : preferred;
}

/** The stack's services, each a supervised process running a service's entry from its sources. */
export class StackServices {
  readonly #options: StackServicesOptions;
  readonly #services: SupervisedService[] = [];

  constructor(options: StackServicesOptions) {
    this.#options = options;
  }

  get all(): readonly SupervisedService[] {
    return this.#services;
  }

  spawn(name: string, entry: keyof typeof SERVICE_ENTRY, env: NodeJS.ProcessEnv): SupervisedService {
    let started = false;
    const service = new SupervisedService({
      name,
      command: process.execPath,
      args: ['--conditions=source', '--import', 'tsx', SERVICE_ENTRY[entry]],
      cwd: REPO_ROOT,
      env,
      onOutput: this.#options.onOutput,
      onRestart: (service, code, signal, delayMs) =>
        this.#options.say(`${service} exited (code ${code}, signal ${signal}); restarting in ${delayMs} ms`),
      onStart: () => {
        if (started) this.#options.onRestart();
        started = true;
      },
    });
    this.#services.push(service);
    service.start();
    return service;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#services.map((service) => service.stop()));
  }
}

/** `PRODUCERS` producers: the first on the configured ports, the others on free ports. */
export function startProducers(
  config: StackConfig,
  endpoints: StackEndpoints,
  baseEnv: NodeJS.ProcessEnv,
  services: StackServices,
): Promise<RunningProducer[]> {
  const { regions } = config.pipeline;
  const first = endpoints.of(regions[0] as string);
  // Each region's hand-off table is in that region's DynamoDB: one endpoint per region.
  const dynamodbByRegion = Object.fromEntries(
    regions.map((region) => [
      `AWS_ENDPOINT_URL_DYNAMODB_${region.toUpperCase().replaceAll('-', '_')}`,
      endpoints.of(region).dynamodb,
    ]),
  );
  return Promise.all(
    Array.from({ length: config.producers }, async (_, index) => {
      const at = (base: number) => port(index === 0 ? base : 0);
      const [producerPort, metricsPort] = await Promise.all([at(config.producerPort), at(config.producerMetricsPort)]);
      const service = services.spawn(config.producers === 1 ? 'producer' : `producer-${index}`, 'producer', {
        ...baseEnv,
        PORT: String(producerPort),
        METRICS_PORT: String(metricsPort),
        HOST: '127.0.0.1',
        // The emulators and the consumers share this machine's cores with the producers, so worker
        // threads only add hand-offs here (measured slower on two cores, README "Encryption
        // threads"): encryption stays on the event loop unless ENCRYPT_THREADS says otherwise.
        ENCRYPT_THREADS: baseEnv.ENCRYPT_THREADS ?? '0',
        AWS_ENDPOINT_URL_KINESIS: first.kinesis,
        ...dynamodbByRegion,
        ...(first.kms === undefined ? {} : { AWS_ENDPOINT_URL_KMS: first.kms }),
      });
      return { url: `http://127.0.0.1:${producerPort}`, metricsUrl: `http://127.0.0.1:${metricsPort}`, service };
    }),
  );
}

/** `CONSUMERS_PER_REGION` consumers in each region, on consecutive ports from the base. */
export function startConsumers(
  config: StackConfig,
  endpoints: StackEndpoints,
  baseEnv: NodeJS.ProcessEnv,
  services: StackServices,
): Promise<RunningConsumer[]> {
  const perRegion = config.consumersPerRegion;
  return Promise.all(
    config.pipeline.regions.flatMap((region, regionIndex) =>
      Array.from({ length: perRegion }, async (_, index) => {
        const offset = regionIndex * perRegion + index;
        const consumerPort = await port(config.consumerBasePort === 0 ? 0 : config.consumerBasePort + offset);
        const { kinesis, dynamodb, kms } = endpoints.of(region);
        const service = services.spawn(
          perRegion === 1 ? `consumer-${region}` : `consumer-${region}-${index}`,
          'consumer',
          {
            ...baseEnv,
            REGION: region,
            // Stable across restarts, so a restarted consumer takes its own leases back at once.
            WORKER_ID: `${region}-consumer-${index}`,
            PORT: String(consumerPort),
            HOST: '127.0.0.1',
            AWS_ENDPOINT_URL_KINESIS: kinesis,
            AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
            ...(kms === undefined ? {} : { AWS_ENDPOINT_URL_KMS: kms }),
          },
        );
        return { region, index, url: `http://127.0.0.1:${consumerPort}`, service };
      }),
    ),
  );
}
