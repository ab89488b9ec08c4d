/** What a Prometheus text exposition declares and holds, enough to tell which metrics exist. */
export interface Exposition {
  /** Metric family name → TYPE (counter, gauge, histogram, summary, untyped). */
  readonly families: ReadonlyMap<string, string>;
  /** Every sample name, e.g. `http_request_duration_seconds_bucket`. */
  readonly samples: ReadonlySet<string>;
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, string>();
  const samples = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type !== null) families.set(type[1]!, type[2]!);
    else if (line !== '' && !line.startsWith('#')) samples.add(/^[^{\s]+/.exec(line)![0]);
  }
  return { families, samples };
}

const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/** True when `name` is a series the exposition declares: a family, or a histogram's _bucket/_sum/_count. */
export function declares(exposition: Exposition, name: string): boolean {
  if (exposition.families.has(name)) return true;
  for (const [family, type] of exposition.families) {
    if ((SUFFIXES[type] ?? []).some((suffix) => `${family}${suffix}` === name)) return true;
  }
  return false;
}
