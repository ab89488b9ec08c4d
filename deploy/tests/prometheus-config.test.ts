import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadComposeFile } from './support/compose.js';
import { findPromtool, promtool } from './support/promtool.js';
import { missingToolReason, readRepoFile, repoRoot } from './support/repo.js';

interface ScrapeConfig {
  readonly job_name: string;
  readonly static_configs?: readonly { readonly targets: readonly string[]; readonly labels: Record<string, string> }[];
  readonly dns_sd_configs?: readonly {
    readonly names: readonly string[];
    readonly type: string;
    readonly port: number;
  }[];
  readonly relabel_configs?: readonly {
    readonly source_labels?: readonly string[];
    readonly regex?: string;
    readonly target_label?: string;
    readonly replacement?: string;
  }[];
}

/** `host:port` of every target: static ones, and each name found by DNS (every replica of a compose service). */
function targetsOf(config: ScrapeConfig): string[] {
  return [
    ...(config.static_configs ?? []).flatMap((group) => group.targets),
    ...(config.dns_sd_configs ?? []).flatMap((sd) => sd.names.map((name) => `${name}:${sd.port}`)),
  ];
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
    const targets = scrapeConfigs.flatMap(targetsOf);

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

    // Act: the labels a target ends with, static or from the relabelling of its DNS name
    const labelled = scrapeConfigs.flatMap((config): Record<string, string | undefined>[] => [
      ...(config.static_configs ?? []).map((group) => ({ host: group.targets[0]!.split(':')[0]!, ...group.labels })),
      ...(config.dns_sd_configs ?? [])
        .flatMap((sd) => sd.names)
        .map((host) => {
          const labels: Record<string, string> = {};
          for (const rule of config.relabel_configs ?? []) {
            const source = rule.source_labels?.[0] === '__meta_dns_name' ? host : '';
            const match = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`).exec(source);
            if (rule.target_label === undefined || match === null) continue;
            labels[rule.target_label] = (rule.replacement ?? '$1').replace('$1', match[1] ?? '');
          }
          return { host, ...labels };
        }),
    ]);

    // Assess
    expect(labelled).toHaveLength(
      1 + Object.keys(compose.services).filter((name) => name.startsWith('consumer-')).length,
    );
    for (const { host, service, region } of labelled) {
      const environment = compose.services[host!]!.environment!;
      expect(service).toBe(host === 'producer' ? 'producer' : 'consumer');
      expect(region).toBe(environment.REGION ?? 'all');
    }
  });
});
