import { parse } from 'yaml';
import { readRepoFile } from './repo.js';

interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile?: string };
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
  readonly healthcheck?: { readonly test?: readonly string[]; readonly disable?: boolean };
  readonly restart?: string;
  readonly deploy?: { readonly replicas?: number | string };
  readonly [key: string]: unknown;
}

export interface ComposeFile {
  readonly name?: string;
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly [key: string]: unknown;
}

/**
 * docker-compose.yml as Compose reads it on a fresh machine: YAML 1.1 merge keys (`<<: *anchor`)
 * resolved, and `${NAME:-default}` in the services' environment given its default.
 */
export async function loadComposeFile(): Promise<ComposeFile> {
  const file = parse(await readRepoFile('docker-compose.yml'), { merge: true }) as ComposeFile;
  const services = Object.fromEntries(
    Object.entries(file.services).map(([name, service]) => [
      name,
      service.environment === undefined
        ? service
        : {
            ...service,
            environment: Object.fromEntries(
              Object.entries(service.environment).map(([key, value]) => [
                key,
                typeof value === 'string' ? interpolateDefaults(value) : value,
              ]),
            ),
          },
    ]),
  );
  return { ...file, services };
}

/** `${NAME:-default}` with nothing set, as `docker compose up` does on a fresh machine. */
export function interpolateDefaults(value: string): string {
  return value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, '$1');
}

/** "127.0.0.1:${X:-3000}:3000" → { hostIp, published, target } after default interpolation. */
export function parsePort(spec: string): { hostIp?: string; published: number; target: number } {
  const parts = interpolateDefaults(spec).split(':');
  const target = Number(parts.at(-1));
  const published = Number(parts.at(-2));
  const hostIp = parts.length === 3 ? parts[0] : undefined;
  return { published, target, ...(hostIp === undefined ? {} : { hostIp }) };
}
