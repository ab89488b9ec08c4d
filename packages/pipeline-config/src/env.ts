import { ConfigError } from './errors.js';

/** The process environment, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

export function requiredString(env: Env, name: string): string {
  const value = raw(env, name);
  if (value === undefined) throw new ConfigError(name, 'is required');
  return value;
}

export function optionalString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

export function stringWithDefault(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function stringList(env: Env, name: string, fallback: readonly string[]): string[] {
  const value = raw(env, name);
  if (value === undefined) return [...fallback];
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new ConfigError(name, 'must list at least one value');
  if (new Set(items).size !== items.length) throw new ConfigError(name, `has duplicates: "${value}"`);
  return items;
}

export function integer(env: Env, name: string, fallback: number, bounds: { min: number; max?: number }): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^-?\d+$/.test(value))
    throw new ConfigError(name, `must be an integer between ${bounds.min} and ${max}, got "${value}"`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < bounds.min || parsed > max) {
    throw new ConfigError(name, `must be an integer between ${bounds.min} and ${max}, got "${value}"`);
  }
  return parsed;
}

export function fraction(env: Env, name: string, fallback: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 1) {
    throw new ConfigError(name, `must be a number in (0, 1], got "${value}"`);
  }
  return parsed;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, `must be one of true, false, 1, 0, got "${value}"`);
}

export function oneOf<T extends string>(env: Env, name: string, accepted: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(accepted as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${accepted.join(', ')}, got "${value}"`);
  }
  return value as T;
}

/**
 * One endpoint per region for a service, from `AWS_ENDPOINT_URL_<SERVICE>_<REGION>` (the region in
 * capitals, dashes as underscores: `AWS_ENDPOINT_URL_DYNAMODB_EU_WEST_1`), for a process that calls
 * a service in several regions where each region is emulated apart. Undefined when none is set, so
 * the SDK resolves endpoints as usual.
 */
export function regionalEndpoints(
  env: Env,
  service: string,
  regions: readonly string[],
): Record<string, string> | undefined {
  const byRegion: Record<string, string> = {};
  for (const region of regions) {
    const value = raw(env, `AWS_ENDPOINT_URL_${service}_${region.toUpperCase().replaceAll('-', '_')}`);
    if (value !== undefined) byRegion[region] = value;
  }
  return Object.keys(byRegion).length === 0 ? undefined : byRegion;
}
