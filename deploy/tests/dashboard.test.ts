import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadComposeFile, parsePort } from './support/compose.js';
import { type DashboardQuery, dashboardQueries, parsePromQL } from './support/promql.js';
import { readRepoFile } from './support/repo.js';

interface Target {
  readonly expr: string;
  readonly legendFormat?: string;
  readonly datasource?: { readonly uid: string };
}

interface Panel {
  readonly title: string;
  readonly datasource?: { readonly uid: string };
  readonly targets: readonly Target[];
}

interface Dashboard {
  readonly uid: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly datasource?: { uid: string } }[] };
}

interface DatasourceFile {
  readonly datasources: readonly { readonly uid: string; readonly type: string; readonly url: string }[];
}

/** What the issue asks the dashboard to show, and the metric each of those is read from. */
const REQUIRED_METRICS = {
  'records in': ['producer_records_total', 'consumer_records_read_total'],
  'records out': ['producer_kinesis_put_total', 'consumer_records_written_total'],
  'records dead-lettered': ['consumer_records_dead_lettered_total'],
  'cache hit ratio': ['datakey_cache_requests_total'],
  'KMS calls': ['kms_requests_total'],
  'POST latency': ['http_request_duration_seconds_bucket'],
  'consumer lag': ['consumer_millis_behind_latest'],
};

describe('File: deploy/grafana/dashboards/records.json', () => {
  let dashboard: Dashboard;
  let queries: DashboardQuery[];
  beforeAll(async () => {
    dashboard = JSON.parse(await readRepoFile('deploy/grafana/dashboards/records.json'));
    queries = dashboardQueries(dashboard);
  });

  it('queries only valid PromQL', () => {
    // Act
    const invalid = queries
      .map((query) => ({ ...query, errors: parsePromQL(query.expr).errors }))
      .filter((query) => query.errors.length > 0);

    // Assess
    expect(queries.length).toBeGreaterThanOrEqual(Object.keys(REQUIRED_METRICS).length);
    expect(invalid).toEqual([]);
  });

  it('shows records in, out and dead-lettered, cache hit ratio, KMS calls, POST latency and consumer lag', () => {
    // Act
    const queried = new Set(queries.flatMap((query) => parsePromQL(query.expr).metrics));

    // Assess
    const missing = Object.entries(REQUIRED_METRICS).flatMap(([topic, metrics]) =>
      metrics.filter((metric) => !queried.has(metric)).map((metric) => `${topic}: ${metric}`),
    );
    expect(missing).toEqual([]);
  });

  it('splits every panel by service and region', () => {
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        expect(target.legendFormat, panel.title).toMatch(/\{\{service\}\}.*\{\{region\}\}/);
        const groupings = [...target.expr.matchAll(/\bby \(([^)]*)\)/g)].map((match) => match[1]!.split(/,\s*/));
        expect(groupings.length, panel.title).toBeGreaterThan(0);
        for (const labels of groupings)
          expect(labels, panel.title).toEqual(expect.arrayContaining(['service', 'region']));
      }
    }
  });

  it('reads from the provisioned Prometheus datasource, which points at the compose Prometheus', async () => {
    // Prepare
    const { datasources } = parse(
      await readRepoFile('deploy/grafana/provisioning/datasources/prometheus.yml'),
    ) as DatasourceFile;
    const compose = await loadComposeFile();
    const prometheusPort = parsePort(compose.services.prometheus!.ports![0]!).target;

    // Act
    const uids = new Set([
      ...dashboard.panels.flatMap((panel) => [panel.datasource?.uid, ...panel.targets.map((t) => t.datasource?.uid)]),
      ...dashboard.templating.list.map((variable) => variable.datasource?.uid),
    ]);

    // Assess
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({ type: 'prometheus', url: `http://prometheus:${prometheusPort}` });
    expect([...uids]).toEqual([datasources[0]!.uid]);
  });
});

describe('Function: parsePromQL', () => {
  it('lists the selected metrics, not functions, labels or Grafana variables', () => {
    // Act
    const parsed = parsePromQL(
      'histogram_quantile(0.95, sum by (le, service) (rate(a_bucket{service=~"$service"}[$__rate_interval]))) / on() group_left {__name__="b"}',
    );

    // Assess
    expect(parsed).toEqual({ metrics: ['a_bucket', 'b'], errors: [] });
  });

  it('reports what it cannot parse', () => {
    // Act
    const parsed = parsePromQL('sum by (service (rate(a[1m]))');

    // Assess
    expect(parsed.errors.length).toBeGreaterThan(0);
  });
});
