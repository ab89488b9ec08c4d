import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import getPort from 'get-port';
import { parse, stringify } from 'yaml';
import { readRepoFile } from './repo.js';
import { ServiceProcess } from './service-process.js';

export async function findPrometheus(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('sh', ['-c', 'command -v prometheus']);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

interface ScrapeConfig {
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  dns_sd_configs?: { names: string[]; port: number }[];
}

/**
 * The repository's prometheus.yml, run by a real Prometheus, with each compose target address
 * (`producer:3000`) replaced by where that service listens here. Labels and relabelling are kept: a
 * name found by DNS becomes a static target with the `__meta_dns_name` DNS discovery would give it.
 */
export class PrometheusServer {
  readonly url: string;
  readonly #process: ServiceProcess;

  private constructor(url: string, process: ServiceProcess) {
    this.url = url;
    this.#process = process;
  }

  static async start(options: {
    binary: string;
    directory: string;
    targets: Readonly<Record<string, string>>;
  }): Promise<PrometheusServer> {
    const config = parse(await readRepoFile('deploy/prometheus/prometheus.yml')) as { scrape_configs: ScrapeConfig[] };
    for (const job of config.scrape_configs) {
      for (const sd of job.dns_sd_configs ?? []) {
        job.static_configs = [
          ...(job.static_configs ?? []),
          ...sd.names.map((name) => ({ targets: [`${name}:${sd.port}`], labels: { __meta_dns_name: name } })),
        ];
      }
      delete job.dns_sd_configs;
      for (const group of job.static_configs ?? []) {
        group.targets = group.targets.map((target) => {
          const local = options.targets[target];
          if (local === undefined) throw new Error(`no local address for the target ${target}`);
          return local;
        });
      }
    }
    await mkdir(options.directory, { recursive: true });
    const configFile = join(options.directory, 'prometheus.yml');
    await writeFile(configFile, stringify(config));
    const port = await getPort();
    const process = new ServiceProcess({
      name: 'prometheus',
      command: [
        options.binary,
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(options.directory, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      cwd: options.directory,
      env: { PATH: globalThis.process.env.PATH ?? '' },
    });
    return new PrometheusServer(`http://127.0.0.1:${port}`, process);
  }

  get output(): string {
    return this.#process.output;
  }

  get running(): boolean {
    return this.#process.running;
  }

  /** An instant query; throws when Prometheus refuses it (a PromQL error). */
  async query(expr: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
    return body.data!.result;
  }

  async targetHealth(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]> {
    const response = await fetch(`${this.url}/api/v1/targets`);
    const body = (await response.json()) as {
      data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
    };
    return body.data.activeTargets;
  }

  stop(): Promise<unknown> {
    return this.#process.stop();
  }
}
