import { readdir, readFile } from 'node:fs/promises';

/** A Prometheus text exposition's samples of one metric, summed over the series whose labels include `labels`. */
export async function scrape(
  url: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) total += Number(match[3]);
  }
  return total;
}

/** The histogram's buckets (`le` to cumulative count), summed over its series. */
export async function histogram(url: string, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\}\\s+(\\S+)`).exec(line);
    if (match === null) continue;
    const le = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
  }
  return buckets;
}

/** A quantile of the observations between two readings of a histogram, interpolated within its bucket. */
export function quantile(before: Map<number, number>, after: Map<number, number>, share: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return Number.NaN;
  const rank = share * total;
  for (let index = 0; index < bounds.length; index++) {
    const count = counts[index] ?? 0;
    if (count < rank) continue;
    const lower = index === 0 ? 0 : (bounds[index - 1] ?? 0);
    const below = index === 0 ? 0 : (counts[index - 1] ?? 0);
    const upper = bounds[index] ?? lower;
    if (!Number.isFinite(upper)) return lower;
    return lower + ((upper - lower) * (rank - below)) / Math.max(1, count - below);
  }
  return bounds.at(-1) ?? Number.NaN;
}

/** Peak resident memory of a process, from the kernel (VmHWM). */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds each process below `root` has used, by pid, with its command line. */
export async function descendantsCpu(root: number): Promise<Map<number, { command: string; cpuSeconds: number }>> {
  const parents = new Map<number, number>();
  const stats = new Map<number, { command: string; cpuSeconds: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
    if (stat === undefined || cmdline === undefined) continue;
    // Fields after the command's closing parenthesis: state, ppid, ..., utime (14th), stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(pid, Number(fields[1]));
    const ticks = Number(fields[11]) + Number(fields[12]);
    stats.set(pid, { command: cmdline.split('\0').filter(Boolean).join(' '), cpuSeconds: ticks / TICKS_PER_SECOND });
  }
  const below = new Map<number, { command: string; cpuSeconds: number }>();
  const own = stats.get(root);
  // pnpm start's own process runs dynalite in it.
  if (own !== undefined) below.set(root, { ...own, command: 'dynalite (in pnpm start)' });
  for (const [pid, stat] of stats) {
    for (let ancestor = parents.get(pid); ancestor !== undefined && ancestor > 1; ancestor = parents.get(ancestor)) {
      if (ancestor === root) {
        below.set(pid, stat);
        break;
      }
    }
  }
  return below;
}

/** What a process is, for a person: the service or emulator it runs. */
export function partName(command: string): string {
  if (command.includes('services/producer')) return 'producer';
  if (command.includes('services/consumer')) return 'consumer';
  if (/kinesis|java/.test(command)) return 'kinesis-local';
  if (command.includes('moto')) return 'moto (KMS)';
  if (command.includes('dynalite')) return 'dynalite';
  return command.slice(0, 40);
}
