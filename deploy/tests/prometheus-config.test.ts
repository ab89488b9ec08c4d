import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadComposeFile } from './support/compose.js';
import { findPromtool, promtool } from './support/promtool.js';
import { missingToolReason, readRepoFile, repoRoot } from './support/repo.js';

interface ScrapeConfig {
  readonly job_name: string;
  readonly static_configs: readonly { readonly targets: readonly string[]; readonly labels: Record<string, string> }[];
}

const CONFIG = 'deploy/prometheus/prometheus.yml';
const promtoolPath = await findPromtool();
const skipPromtool =
  promtoolPath === undefined ? missingToolReason('promtool', 'apt-get install prometheus') : undefined;
if (skipPromtool !== undefined) console.warn(`[deploy] promtool check config skipped: ${skipPromtool}`);

describe('File: deploy/prometheus/prometheus.yml', () => {
  let scrapeConfigs: readonly ScrapeConfig[];
  beforeAll(async () => {
    scrapeConfigs = (parse(await readRepoFile(CONFIG)) as { scrape_configs: ScrapeConfig[] }).scrape_configs;
  });

  it.skipIf(skipPromtool !== undefined)('passes promtool check config', async () => {
    // Act
    const result = await promtool(promtoolPath!, ['check', 'config', join(repoRoot, CONFIG)]);

    // Assess
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('scrapes the producer and every consumer at the port its container listens on', async () => {
    // Prepare
    const compose = await loadComposeFile();
    const services = Object.entries(compose.services).filter(
      ([name]) => name === 'producer' || name.startsWith('consumer-'),
    );

    // Act
    const targets = scrapeConfigs.flatMap((config) => config.static_configs.flatMap((group) => group.targets));

    // Assess
    // A service with a metrics port of its own is scraped there, not on the port it serves clients on.
    const scrapePort = (environment: Record<string, string>) => environment.METRICS_PORT ?? environment.PORT;
    expect(targets.sort()).toEqual(
      services.map(([name, service]) => `${name}:${scrapePort(service.environment!)}`).sort(),
    );
  });

  it("labels each target with its service, and a consumer with its container's REGION", async () => {
    // Prepare
    const compose = await loadComposeFile();

    // Act
    const groups = scrapeConfigs.flatMap((config) => config.static_configs);

    // Assess
    for (const group of groups) {
      const [host] = group.targets[0]!.split(':');
      const environment = compose.services[host!]!.environment!;
      expect(group.labels.service).toBe(host === 'producer' ? 'producer' : 'consumer');
      expect(group.labels.region).toBe(environment.REGION ?? 'all');
    }
  });
});
