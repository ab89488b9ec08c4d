import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { AwsClients } from '@records/aws-clients';
import getPort from 'get-port';
import {
  DockerComposeEnvironment,
  getContainerRuntimeClient,
  type StartedDockerComposeEnvironment,
  Wait,
} from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComposeFile, loadComposeFile } from './support/compose.js';
import { repoRoot } from './support/repo.js';
import { eventually } from './support/service-process.js';

/*
 * `docker compose up --build` for real: images built from the Dockerfiles, LocalStack provisioned by
 * the init container, records POSTed to the producer and read back from every region's table.
 * Needs a container runtime; without one it skips and says why.
 */

async function containerRuntimeMissing(): Promise<string | undefined> {
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const missing = await containerRuntimeMissing();
if (missing !== undefined) {
  console.warn(`[deploy] docker compose stack suite skipped: no container runtime here (${missing})`);
}

describe.skipIf(missing !== undefined)('docker compose up', () => {
  let compose: ComposeFile;
  let regions: string[];
  let stack: StartedDockerComposeEnvironment | undefined;
  let clients: AwsClients;
  const ports: Record<string, number> = {};
  const url = (variable: string) => `http://127.0.0.1:${ports[variable]}`;

  beforeAll(async () => {
    compose = await loadComposeFile();
    regions = compose.services.producer!.environment!.REGIONS!.split(',');
    // Every published port is movable by a variable: free ones here, so a running stack is left alone.
    for (const service of Object.values(compose.services)) {
      for (const spec of service.ports ?? []) {
        const variable = /\$\{([A-Z0-9_]+):-/.exec(spec)![1]!;
        ports[variable] = await getPort();
      }
    }
    const healthy = [
      'localstack',
      'producer',
      ...regions.map((region) => `consumer-${region}`),
      'prometheus',
      'grafana',
    ];
    let environment = new DockerComposeEnvironment(repoRoot, 'docker-compose.yml')
      .withBuild()
      .withEnvironment(Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])))
      .withWaitStrategy('provision-1', Wait.forOneShotStartup())
      .withStartupTimeout(600_000);
    for (const service of healthy) environment = environment.withWaitStrategy(`${service}-1`, Wait.forHealthCheck());
    stack = await environment.up();
    clients = new AwsClients({
      endpoints: { dynamodb: url('LOCALSTACK_PORT') },
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }, 900_000);

  afterAll(async () => {
    clients?.destroy();
    await stack?.down({ removeVolumes: true });
  }, 120_000);

  it("carries records POSTed to the producer into every region's table", async () => {
    // Prepare
    const ids: string[] = [];

    // Act
    for (let index = 0; index < 3; index++) {
      const response = await fetch(`${url('PRODUCER_PORT')}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ order: index, note: 'posted through docker compose' }),
      });
      expect(response.status, await response.clone().text()).toBe(201);
      ids.push(((await response.json()) as { id: string }).id);
    }

    // Assess
    for (const region of regions) {
      for (const id of ids) {
        const item = await eventually(
          `record ${id} in ${region}`,
          async () =>
            (
              await clients.dynamodb(region).send(
                new GetItemCommand({
                  TableName: compose.services.producer!.environment!.TABLE_NAME,
                  Key: { id: { S: id } },
                }),
              )
            ).Item,
          { attempts: 240, intervalMs: 250 },
        );
        expect(item.id?.S).toBe(id);
      }
    }
  });

  it('has Prometheus scraping the producer and every consumer', async () => {
    // Act
    const targets = await eventually(
      'every target up',
      async () => {
        const response = await fetch(`${url('PROMETHEUS_PORT')}/api/v1/targets`);
        const body = (await response.json()) as {
          data: { activeTargets: { health: string; labels: Record<string, string> }[] };
        };
        const active = body.data.activeTargets;
        // Two consumers per region by default (CONSUMERS_PER_REGION), each found by DNS.
        return active.length === 1 + 2 * regions.length && active.every((target) => target.health === 'up')
          ? active
          : undefined;
      },
      { attempts: 120, intervalMs: 500 },
    );

    // Assess
    expect(targets.map((target) => `${target.labels.service} ${target.labels.region}`).sort()).toEqual(
      ['producer all', ...regions.flatMap((region) => [`consumer ${region}`, `consumer ${region}`])].sort(),
    );
  });

  it('has Grafana serving the provisioned dashboard to an anonymous viewer', async () => {
    // Act
    const response = await fetch(`${url('GRAFANA_PORT')}/api/dashboards/uid/records-pipeline`);
    const body = (await response.json()) as { dashboard: { title: string } };

    // Assess
    expect(response.status).toBe(200);
    expect(body.dashboard.title).toBe('Records pipeline');
  });
});
