import { parser } from '@prometheus-io/lezer-promql';

export interface DashboardQuery {
  readonly where: string;
  readonly expr: string;
}

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string; readonly refId?: string }[];
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly panels?: readonly Panel[];
  readonly templating?: { readonly list?: readonly { readonly name: string; readonly query?: unknown }[] };
}

/** Every PromQL expression of a dashboard: panel targets, and the selectors of label_values() variables. */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panels: readonly Panel[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) {
        if (target.expr !== undefined)
          queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string })?.query;
    const selector = query === undefined ? undefined : /^label_values\((.*),\s*\w+\)$/s.exec(query)?.[1];
    if (selector !== undefined) queries.push({ where: `variable $${variable.name}`, expr: selector });
  }
  return queries;
}

/** Grafana's own variables replaced by values Prometheus accepts, as Grafana does before it sends a query. */
export function withGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '1m').replace(/\$\{?(\w+)\}?/g, '.*');
}

export interface ParsedQuery {
  readonly metrics: readonly string[];
  /** Text of the parts the grammar could not read; empty for valid PromQL. */
  readonly errors: readonly string[];
}

/** Parses with the Prometheus project's own PromQL grammar and lists the metric names it selects. */
export function parsePromQL(expr: string): ParsedQuery {
  const source = withGrafanaVariables(expr);
  const metrics = new Set<string>();
  const errors: string[] = [];
  parser.parse(source).iterate({
    enter(node) {
      if (node.type.isError) errors.push(source.slice(Math.max(0, node.from - 10), node.to + 10) || source);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.add(source.slice(node.from, node.to));
      }
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        const text = source.slice(node.from, node.to);
        const name = /^__name__\s*=\s*"([^"]+)"$/.exec(text)?.[1];
        if (name !== undefined) metrics.add(name);
      }
    },
  });
  return { metrics: [...metrics], errors };
}
