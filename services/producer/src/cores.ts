import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, or undefined when it is not there (no cgroup, another OS). */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The whole cores a container's CPU quota allows, or undefined when none is set: cgroup v2's
 * `cpu.max` ("<quota> <period>", or "max"), else cgroup v1's `cpu.cfs_quota_us` (-1 for none) over
 * `cpu.cfs_period_us`. At least 1: a quota of half a core still runs one thread.
 */
export function cpuQuotaCores(read: ReadText = readText): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  const [quota, period] =
    v2 !== undefined
      ? [Number(v2[0]), Number(v2[1])]
      : [Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')), Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'))];
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

/**
 * The cores this process may use: what the OS lets it run on (`os.availableParallelism()`), no more
 * than its container's CPU quota allows. Node counts the CPUs it may be scheduled on, not the quota,
 * so a container limited to one core on a 16-core host would otherwise start 16 threads.
 */
export function coresAvailable(
  parallelism: () => number = availableParallelism,
  quota: () => number | undefined = cpuQuotaCores,
): number {
  return Math.min(parallelism(), quota() ?? Number.POSITIVE_INFINITY);
}
