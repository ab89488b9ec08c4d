import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { type EmulatorSet, findMotoServer, startEmulatorSet } from '@records/local-stack';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltImage, buildWithoutDocker } from './support/build-without-docker.js';
import { type ComposeFile, loadComposeFile } from './support/compose.js';
import { declares, parseExposition } from './support/exposition.js';
import { pnpmShim } from './support/pnpm-shim.js';
import { findPrometheus, PrometheusServer } from './support/prometheus-server.js';
import { dashboardQueries, parsePromQL, withGrafanaVariables } from './support/promql.js';
import { findPromtool, promtool } from './support/promtool.js';
import { missingToolReason, readRepoFile, repoRoot } from './support/repo.js';
import { eventually, runToEnd, ServiceProcess } from './support/service-process.js';

/*
 * The deployable bundles, built by running the Dockerfiles' own build steps outside Docker, started
 * the way the images start them (tini, then CMD, with the image's ENV and docker-compose.yml's
 * environment) against real emulators: kinesis-local, one dynalite per region and moto for KMS.
 */

const TINI = '/usr/bin/tini';
const tools = {
  moto: (await findMotoServer()) !== undefined,
  tini: existsSync(TINI),
  promtool: await findPromtool(),
  prometheus: await findPrometheus(),
};
const skipBundle = !tools.moto
  ? missingToolReason('moto_server', 'the KMS emulator')
  : !tools.tini
    ? missingToolReason('tini', 'apt-get install tini; the images run under it')
    : undefined;
const skipPromtool =
  tools.promtool === undefined ? missingToolReason('promtool', 'apt-get install prometheus') : undefined;
const skipPrometheus =
  tools.prometheus === undefined ? missingToolReason('prometheus', 'apt-get install prometheus') : undefined;
for (const [what, reason] of [
  ['the bundle checks', skipBundle],
  ['promtool check metrics', skipPromtool],
  ['the dashboard queries against a real Prometheus', skipPrometheus],
] as const) {
  if (reason !== undefined) console.warn(`[deploy] ${what} skipped: ${reason}`);
}

interface RunningService {
  readonly name: string;
  readonly process: ServiceProcess;
  readonly url: string;
  /** Where Prometheus scrapes it: a port of its own (METRICS_PORT) when compose gives one. */
  readonly metricsUrl: string;
  readonly image: BuiltImage;
  readonly env: Record<string, string>;
}

describe.skipIf(skipBundle !== undefined)('Deployable bundles of Dockerfile.producer and Dockerfile.consumer', () => {
  let workspace: string;
  let compose: ComposeFile;
  let regions: string[];
  let emulators: EmulatorSet | undefined;
  let clients: AwsClients;
  let path: string[] = [];
  const images: Record<string, BuiltImage> = {};
  const services: RunningService[] = [];
  const posted: string[] = [];

  /** What a container of `service` gets: the image's ENV, compose's environment, then local endpoints. */
  const environment = (image: BuiltImage, service: string, overrides: Record<string, string>) => {
    const { AWS_ENDPOINT_URL: _localstack, ...fromCompose } = compose.services[service]!.environment!;
    return {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/',
      ...image.env,
      ...fromCompose,
      AWS_ENDPOINT_URL_KINESIS: emulators!.endpoints.kinesis!,
      AWS_ENDPOINT_URL_KMS: emulators!.endpoints.kms!,
      // Loopback here; the images listen on 0.0.0.0 for the other containers.
      HOST: '127.0.0.1',
      ...overrides,
    };
  };

  const start = async (name: string, image: BuiltImage, overrides: Record<string, string>) => {
    const port = String(await getPort());
    const separateMetrics = compose.services[name]!.environment!.METRICS_PORT !== undefined;
    const metricsPort = separateMetrics ? String(await getPort()) : port;
    const env = environment(image, name, {
      ...overrides,
      PORT: port,
      ...(separateMetrics ? { METRICS_PORT: metricsPort } : {}),
    });
    const child = new ServiceProcess({ name, command: [...image.entrypoint, ...image.cmd], cwd: image.workdir, env });
    const url = `http://127.0.0.1:${port}`;
    const service = { name, process: child, url, metricsUrl: `http://127.0.0.1:${metricsPort}`, image, env };
    services.push(service);
    return service;
  };

  const context = () => services.map((service) => `--- ${service.name}\n${service.process.output}`).join('\n');

  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'records-bundles-'));
    compose = await loadComposeFile();
    regions = compose.services.producer!.environment!.REGIONS!.split(',');

    // One build per Dockerfile, one at a time: two cores.
    const shim = await pnpmShim(join(workspace, 'bin'));
    path = shim === undefined ? [] : [shim];
    for (const name of ['producer', 'consumer']) {
      images[name] = await buildWithoutDocker({
        contextRoot: repoRoot,
        dockerfileName: `Dockerfile.${name}`,
        workspace: join(workspace, name),
        buildStage: 'build',
        path,
      }).catch(async (error) => {
        const log = await readFile(join(workspace, name, 'build.log'), 'utf8').catch(() => '');
        throw new Error(`${error.message}\n${log.slice(-4000)}`);
      });
    }

    emulators = await startEmulatorSet({ regions, services: { kinesis: true, dynamodb: true, kms: true } });
    if (emulators.kmsMissing)
      throw new Error('moto_server is not on PATH: CI runs the bundle checks and cannot skip them');
    clients = new AwsClients({
      endpoints: { dynamodb: emulators.endpoints.dynamodb! },
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });

    // compose's init container, once per region: each region has its own dynalite here.
    const provision = compose.services.provision!;
    for (const region of regions) {
      const result = await runToEnd({
        name: `provision ${region}`,
        command: [...images.producer!.entrypoint, ...provision.command!],
        cwd: images.producer!.workdir,
        env: environment(images.producer!, 'provision', {
          REGIONS: region,
          AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb![region]!,
        }),
      });
      if (result.code !== 0) throw new Error(`provisioning ${region} exited with ${result.code}:\n${result.output}`);
    }

    await start('producer', images.producer!, {
      AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb![regions[0]!]!,
    });
    for (const region of regions) {
      await start(`consumer-${region}`, images.consumer!, {
        AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb![region]!,
      });
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(services.map((service) => service.process.stop()));
    clients?.destroy();
    await emulators?.stop();
    if (workspace !== undefined) await rm(workspace, { recursive: true, force: true });
  });

  it('built each bundle with the build steps of its Dockerfile, with the pnpm its toolchain stage installs', async () => {
    const { stdout } = await promisify(execFile)('pnpm', ['--version'], {
      env: { ...process.env, PATH: [...path, process.env.PATH].join(':') },
    });
    for (const image of Object.values(images)) {
      const toolchain = image.skippedRuns.find((run) => run.stage === 'toolchain')!;
      expect(toolchain.command).toContain(`pnpm@${stdout.trim()} `);
      expect(image.ranCommands.length).toBeGreaterThanOrEqual(3);
      expect(image.skippedRuns.map((run) => run.stage)).toEqual(['toolchain', 'runtime']);
      expect(existsSync(join(image.workdir, 'dist', 'main.js'))).toBe(true);
    }
    // The provisioning package's entry point, which compose's init container runs from this image.
    const provision = compose.services.provision!.command!.at(-1) as string;
    expect(existsSync(join(images.producer!.workdir, provision))).toBe(true);
  });

  it('ships production dependencies only: no TypeScript, test runner or emulators', async () => {
    for (const image of Object.values(images)) {
      const manifest = JSON.parse(await readFile(join(image.workdir, 'package.json'), 'utf8'));
      for (const dev of ['typescript', 'vitest', '@records/local-stack', 'kinesis-local', 'dynalite']) {
        expect(existsSync(join(image.workdir, 'node_modules', dev)), dev).toBe(false);
      }
      expect(existsSync(join(image.workdir, 'node_modules', '.pnpm', 'node_modules', 'typescript'))).toBe(false);
      // pnpm deploy keeps the manifest as it is, but installs none of its devDependencies.
      for (const dev of Object.keys(manifest.devDependencies ?? {})) {
        if (manifest.dependencies?.[dev] !== undefined) continue;
        expect(existsSync(join(image.workdir, 'node_modules', dev)), dev).toBe(false);
      }
    }
  });

  it('answers /healthz from every started bundle', async () => {
    for (const service of services) {
      const body = await eventually(
        `${service.name} /healthz`,
        async () => {
          const response = await fetch(`${service.url}/healthz`);
          return response.status === 200 ? response.json() : undefined;
        },
        { attempts: 120, intervalMs: 250, alive: () => service.process.running, context },
      );
      expect(body, service.name).toEqual({ status: 'ok' });
    }
  });

  it("turns healthy by the image's own HEALTHCHECK command", async () => {
    for (const service of services) {
      // Docker runs the check inside the container: same folder, same environment.
      await eventually(
        `${service.name} HEALTHCHECK`,
        async () => {
          const result = await runToEnd({
            name: `${service.name} healthcheck`,
            command: service.image.healthcheck,
            cwd: service.image.workdir,
            env: service.env,
          });
          return result.code === 0 ? true : undefined;
        },
        { attempts: 120, intervalMs: 500, alive: () => service.process.running, context },
      );
    }
  });

  it("carries records POSTed to the producer, exactly as posted, into every region's table", async () => {
    // Prepare
    const producer = services.find((service) => service.name === 'producer')!;
    const bodies = Array.from(
      { length: 3 },
      (_, index) => `{"order":${index},"big":1234567890123456789${index},"note":"posted by the bundle check ✓"}`,
    );

    // Act
    for (const body of bodies) {
      const response = await fetch(`${producer.url}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status, await response.clone().text()).toBe(201);
      const { id, regions: accepted } = (await response.json()) as { id: string; regions: Record<string, unknown> };
      expect(Object.keys(accepted).sort()).toEqual([...regions].sort());
      posted.push(id);
    }

    // Assess: the item is the record as posted (with its id), plus the pipeline's attribute
    for (const region of regions) {
      for (const [index, id] of posted.entries()) {
        const item = await eventually(
          `record ${id} in ${region}`,
          async () => {
            const { Item } = await clients.dynamodb(region).send(
              new GetItemCommand({
                TableName: compose.services.producer!.environment!.TABLE_NAME,
                Key: { id: { S: id } },
              }),
            );
            return Item;
          },
          { attempts: 240, intervalMs: 250, context },
        );
        const { _pipeline, ...record } = item;
        expect(record).toEqual({
          id: { S: id },
          order: { N: String(index) },
          big: { N: `1234567890123456789${index}` },
          note: { S: 'posted by the bundle check ✓' },
        });
        expect(_pipeline?.M?.region).toEqual({ S: region });
      }
    }
  });

  it.skipIf(skipPromtool !== undefined)('serves /metrics that promtool check metrics accepts', async () => {
    for (const service of services) {
      // Act
      const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
      const result = await promtool(tools.promtool!, ['check', 'metrics'], text);

      // Assess
      expect(result.output.trim(), service.name).toBe('');
      expect(result.code, service.name).toBe(0);
    }
  });

  it('serves every metric the Grafana dashboard queries', async () => {
    // Prepare
    const dashboard = JSON.parse(await readRepoFile('deploy/grafana/dashboards/records.json'));
    const expositions = await Promise.all(
      services.map(async (service) => parseExposition(await (await fetch(`${service.metricsUrl}/metrics`)).text())),
    );

    // Act
    const missing = dashboardQueries(dashboard).flatMap(({ where, expr }) =>
      parsePromQL(expr)
        .metrics.filter((metric) => !expositions.some((exposition) => declares(exposition, metric)))
        .map((metric) => `${where}: ${metric}`),
    );

    // Assess
    expect(missing).toEqual([]);
  });

  it.skipIf(skipPrometheus !== undefined)(
    "evaluates the dashboard's queries in Prometheus, split by service and region, with prometheus.yml's labels",
    async () => {
      // Prepare
      const targets = Object.fromEntries(
        services.map((service) => [
          `${service.name}:${compose.services[service.name]!.environment!.METRICS_PORT ?? compose.services[service.name]!.environment!.PORT}`,
          service.metricsUrl.slice(7),
        ]),
      );
      const prometheus = await PrometheusServer.start({
        binary: tools.prometheus!,
        directory: join(workspace, 'prometheus'),
        targets,
      });
      try {
        const promContext = () => `${context()}\n--- prometheus\n${prometheus.output}`;
        await eventually(
          'every target scraped',
          async () => {
            const health = await prometheus.targetHealth();
            return health.length === services.length && health.every((target) => target.health === 'up')
              ? true
              : undefined;
          },
          { attempts: 120, intervalMs: 500, alive: () => prometheus.running, context: promContext },
        );
        const dashboard = JSON.parse(await readRepoFile('deploy/grafana/dashboards/records.json'));
        const recordsIn = (dashboard.panels as { title: string; targets: { expr: string }[] }[]).find(
          (panel) => panel.title === 'Records in',
        )!.targets;

        // Act
        const series = await eventually(
          'records in, per service and region, over two scrapes',
          async () => {
            const results = await Promise.all(
              recordsIn.map(({ expr }) => prometheus.query(withGrafanaVariables(expr))),
            );
            return results.flat().length === 1 + regions.length ? results.flat() : undefined;
          },
          { attempts: 120, intervalMs: 500, alive: () => prometheus.running, context: promContext },
        );
        const kms = await prometheus.query('sum by (service, region) (kms_requests_total)');
        const aws = await prometheus.query('sum by (service, region, aws_service) (aws_requests_total)');
        const exported = await prometheus.query('{exported_region!=""} or {exported_service!=""}');

        // Assess
        // Every query evaluates; every panel but the failure panel (no record failed here) shows data.
        for (const { expr, where } of dashboardQueries(dashboard)) {
          const result = await prometheus.query(withGrafanaVariables(expr));
          expect(Array.isArray(result), where).toBe(true);
          if (!where.includes('dead-lettered and rejected'))
            expect(result.length, `${where}: ${expr}`).toBeGreaterThan(0);
        }
        const labels = (samples: { metric: Record<string, string> }[], ...names: string[]) =>
          samples.map((sample) => names.map((name) => sample.metric[name]).join(' ')).sort();
        expect(labels(series, 'service', 'region')).toEqual(
          ['producer all', ...regions.map((region) => `consumer ${region}`)].sort(),
        );
        // The producer's KMS series keep the region they called; each consumer calls only its own.
        expect(labels(kms, 'service', 'region')).toEqual(
          [...regions.map((region) => `producer ${region}`), ...regions.map((region) => `consumer ${region}`)].sort(),
        );
        expect(new Set(aws.map((sample) => sample.metric.aws_service))).toEqual(new Set(['kinesis', 'dynamodb']));
        expect(new Set(aws.map((sample) => sample.metric.service))).toEqual(new Set(['producer', 'consumer']));
        expect(exported).toEqual([]);
      } finally {
        await prometheus.stop();
      }
    },
  );

  it('stops every service cleanly when tini passes on SIGTERM', async () => {
    for (const service of services) {
      // Act
      service.process.signal('SIGTERM');
      const exit = await service.process.exited;

      // Assess
      expect(exit, `${service.name}\n${service.process.output}`).toEqual({ code: 0, signal: null });
    }
  });
});
