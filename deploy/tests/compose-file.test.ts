import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ComposeFile, interpolateDefaults, loadComposeFile, parsePort } from './support/compose.js';
import { parseDockerfile } from './support/dockerfile.js';
import { readRepoFile, repoRoot } from './support/repo.js';

/**
 * The Compose Specification's JSON schema, as the dclint package ships it (a copy of
 * compose-spec/compose-spec's schema/compose-spec.json): the schema `docker compose` itself checks.
 */
async function composeSpecValidator() {
  const dclint = dirname(createRequire(import.meta.url).resolve('dclint/package.json'));
  const { $schema, ...schema } = JSON.parse(await readFile(join(dclint, 'schemas', 'compose.schema.json'), 'utf8'));
  // The schema names draft-07 by its https address, which Ajv does not know; draft-07 is Ajv's default.
  expect($schema).toMatch(/draft-07/);
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
}

const SERVICE_PACKAGES = ['packages', 'services'];

/** Every quoted upper-case identifier in the services' and packages' sources: the variables they read. */
async function variablesTheCodeReads(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const root of SERVICE_PACKAGES) {
    for (const name of await readdir(join(repoRoot, root))) {
      const src = join(repoRoot, root, name, 'src');
      if (!existsSync(src)) continue;
      for (const file of await readdir(src, { recursive: true })) {
        if (!file.endsWith('.ts')) continue;
        const text = await readFile(join(src, file), 'utf8');
        for (const match of text.matchAll(/['"`]([A-Z][A-Z0-9_]+)['"`]/g)) names.add(match[1]!);
      }
    }
  }
  return names;
}

describe('File: docker-compose.yml', () => {
  let compose: ComposeFile;
  let regions: string[];
  beforeAll(async () => {
    compose = await loadComposeFile();
    regions = compose.services.producer!.environment!.REGIONS!.split(',');
  });

  it('is valid against the Compose Specification schema', async () => {
    // Prepare
    const validate = await composeSpecValidator();

    // Act
    const valid = validate(compose);

    // Assess
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('rejects a service key the specification does not know, so the schema check can fail', async () => {
    // Prepare
    const validate = await composeSpecValidator();
    const broken = {
      ...compose,
      services: { ...compose.services, producer: { ...compose.services.producer, port: [] } },
    };

    // Act
    const valid = validate(broken);

    // Assess
    expect(valid).toBe(false);
  });

  it('pins LocalStack to a 4.x tag that starts without an auth token, with low Kinesis latency', () => {
    // Prepare
    const localstack = compose.services.localstack!;

    // Act
    const [, minor, patch] =
      /^localstack\/localstack:4\.(\d+)\.(\d+)@sha256:[0-9a-f]{64}$/.exec(localstack.image ?? '') ?? [];

    // Assess
    // 4.15 and later, and the 2026.x calendar tags, need LOCALSTACK_AUTH_TOKEN.
    expect(Number(minor), `image ${localstack.image}`).toBeLessThanOrEqual(14);
    expect(patch).toBeDefined();
    expect(localstack.environment).not.toHaveProperty('LOCALSTACK_AUTH_TOKEN');
    expect(Number(localstack.environment?.KINESIS_LATENCY)).toBeLessThanOrEqual(10);
    expect(localstack.environment?.SERVICES?.split(',').sort()).toEqual(['dynamodb', 'kinesis', 'kms']);
  });

  it('pins every image to a tag and a digest, and builds the services from the two Dockerfiles', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== undefined) {
        expect(existsSync(join(repoRoot, service.build.context, service.build.dockerfile ?? 'Dockerfile')), name).toBe(
          true,
        );
        continue;
      }
      expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    expect(compose.services.producer!.build?.dockerfile).toBe('Dockerfile.producer');
    for (const region of regions) {
      expect(compose.services[`consumer-${region}`]?.build?.dockerfile).toBe('Dockerfile.consumer');
    }
  });

  it('runs every container without privilege gain, and all but LocalStack read-only with no capabilities', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.security_opt, name).toContain('no-new-privileges:true');
      if (name === 'localstack') continue;
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
    }
  });

  it('gives Grafana no usable default login: anonymous viewers only, by a documented choice', () => {
    // Prepare
    const environment = compose.services.grafana!.environment!;

    // Assess
    expect(environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      GF_AUTH_DISABLE_LOGIN_FORM: 'true',
      GF_AUTH_BASIC_ENABLED: 'false',
    });
    expect(environment).not.toHaveProperty('GF_SECURITY_ADMIN_PASSWORD');
  });

  it('runs one consumer per region of REGIONS, each told its own region', () => {
    // Prepare
    const consumers = Object.entries(compose.services).filter(([, service]) => service.environment?.REGION);

    // Act
    const consumed = consumers.map(([, service]) => service.environment!.REGION).sort();

    // Assess
    expect(consumed).toEqual([...regions].sort());
    for (const [, service] of consumers) expect(service.environment?.REGIONS).toBe(regions.join(','));
  });

  it('runs several consumers per region, publishing none of their ports (replicas cannot share one)', () => {
    // Prepare
    const consumers = Object.entries(compose.services).filter(([name]) => name.startsWith('consumer-'));

    // Act & Assess
    for (const [name, service] of consumers) {
      // On a fresh machine (nothing set), two per region; CONSUMERS_PER_REGION changes it.
      expect(String(service.deploy?.replicas), name).toContain('CONSUMERS_PER_REGION');
      expect(Number(interpolateDefaults(String(service.deploy?.replicas))), name).toBe(2);
      expect(service.ports, name).toBeUndefined();
    }
  });

  it("provisions with the producer image's provisioning CLI before any service starts", () => {
    // Prepare
    const { provision, producer } = compose.services;

    // Act
    const dependents = Object.entries(compose.services).filter(
      ([name]) => name === 'producer' || /^consumer-/.test(name),
    );

    // Assess
    expect(provision?.build).toEqual(producer?.build);
    expect(provision?.command).toEqual(['node', 'node_modules/@records/provisioning/dist/main.js']);
    expect(provision?.restart).toBe('no');
    expect(provision?.depends_on?.localstack?.condition).toBe('service_healthy');
    expect(dependents).toHaveLength(1 + regions.length);
    for (const [name, service] of dependents) {
      expect(service.depends_on?.provision?.condition, name).toBe('service_completed_successfully');
    }
  });

  it('waits on health only where a health check exists, and restarts every long-running service', async () => {
    // Prepare
    const dockerfileHasHealthcheck = async (dockerfile: string) =>
      parseDockerfile(await readRepoFile(dockerfile))
        .stages.at(-1)!
        .instructions.some((i) => i.keyword === 'HEALTHCHECK');

    // Act & Assess
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = compose.services[dependency];
        expect(target, `${name} depends on ${dependency}`).toBeDefined();
        if (condition !== 'service_healthy') continue;
        const healthcheck =
          target!.healthcheck?.test !== undefined ||
          (target!.build !== undefined && (await dockerfileHasHealthcheck(target!.build.dockerfile!)));
        expect(healthcheck, `${dependency} has a health check`).toBe(true);
      }
      if (name !== 'provision') expect(service.restart, name).toBe('unless-stopped');
    }
  });

  it('publishes ports on loopback only, each movable by a variable, none twice', () => {
    // Prepare
    const published = Object.values(compose.services).flatMap((service) => service.ports ?? []);

    // Act
    const ports = published.map(parsePort);

    // Assess
    for (const spec of published) expect(spec).toMatch(/^127\.0\.0\.1:\$\{[A-Z0-9_]+:-\d+\}:\d+$/);
    expect(new Set(ports.map((port) => port.published)).size).toBe(ports.length);
    expect(ports.every((port) => port.hostIp === '127.0.0.1')).toBe(true);
  });

  it('holds no secrets: the only credentials are LocalStack placeholders', () => {
    // Prepare
    const sensitive = /SECRET|PASSWORD|TOKEN|CREDENTIAL|PRIVATE|ACCESS_KEY/;

    // Act
    const found = Object.entries(compose.services).flatMap(([name, service]) =>
      Object.entries(service.environment ?? {})
        .filter(([key]) => sensitive.test(key))
        .map(([key, value]) => ({ name, key, value })),
    );

    // Assess
    expect(found.length).toBeGreaterThan(0);
    for (const { name, key, value } of found) {
      expect(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], `${name} ${key}`).toContain(key);
      expect(value, `${name} ${key}`).toBe('test');
    }
  });

  it("sets only variables the services' code reads, besides the AWS SDK's own", async () => {
    // Prepare
    const read = await variablesTheCodeReads();
    const ours = ['provision', 'producer', ...regions.map((region) => `consumer-${region}`)];

    // Act
    const unread = ours.flatMap((name) =>
      Object.keys(compose.services[name]!.environment ?? {})
        .filter((key) => !key.startsWith('AWS_') && !read.has(key))
        .map((key) => `${name}: ${key}`),
    );

    // Assess
    expect(unread).toEqual([]);
  });

  it('mounts files that exist, named volumes it declares, and the Grafana dashboards where the provider looks for them', async () => {
    // Prepare
    const volumes = Object.values(compose.services).flatMap((service) => service.volumes ?? []);
    const bindMounts = volumes.filter((mount) => mount.startsWith('.') || mount.startsWith('/'));
    const named = volumes.filter((mount) => !bindMounts.includes(mount)).map((mount) => mount.split(':')[0]);
    const provider = await readRepoFile('deploy/grafana/provisioning/dashboards/records.yml');

    // Act
    const dashboardsMount = compose.services.grafana!.volumes!.find((mount) => mount.includes('dashboards:'));

    // Assess
    for (const mount of bindMounts) expect(existsSync(join(repoRoot, mount.split(':')[0]!)), mount).toBe(true);
    expect(named.sort()).toEqual(Object.keys((compose.volumes ?? {}) as object).sort());
    const path = /path:\s*(\S+)/.exec(provider)?.[1];
    expect(dashboardsMount?.split(':')[1]).toBe(path);
    expect(compose.services.grafana!.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(
      `${path}/records.json`,
    );
  });
});
