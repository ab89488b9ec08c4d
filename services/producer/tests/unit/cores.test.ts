import { describe, expect, it } from 'vitest';
import { coresAvailable, cpuQuotaCores } from '../../src/cores.js';

/** A file system of the given files alone. */
const files = (contents: Record<string, string>) => (path: string) => contents[path];

describe('Function: cpuQuotaCores', () => {
  it('returns the whole cores of a cgroup v2 quota, at least one', () => {
    expect(cpuQuotaCores(files({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' }))).toBe(2);
    expect(cpuQuotaCores(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1);
    expect(cpuQuotaCores(files({ '/sys/fs/cgroup/cpu.max': '25000 100000\n' }))).toBe(1);
  });

  it('returns undefined when cgroup v2 sets no quota, or no cgroup file is there', () => {
    expect(cpuQuotaCores(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    expect(cpuQuotaCores(files({}))).toBeUndefined();
  });

  it('reads cgroup v1 when there is no cgroup v2 file, where -1 means no quota', () => {
    const v1 = (quota: string) =>
      files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': quota, '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' });
    expect(cpuQuotaCores(v1('400000\n'))).toBe(4);
    expect(cpuQuotaCores(v1('-1\n'))).toBeUndefined();
  });
});

describe('Function: coresAvailable', () => {
  it('returns the CPUs the process may run on, lowered to its container quota', () => {
    expect(
      coresAvailable(
        () => 16,
        () => 2,
      ),
    ).toBe(2);
    expect(
      coresAvailable(
        () => 2,
        () => 8,
      ),
    ).toBe(2);
    expect(
      coresAvailable(
        () => 8,
        () => undefined,
      ),
    ).toBe(8);
  });
});
