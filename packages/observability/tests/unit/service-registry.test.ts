import { createServiceRegistry } from '@records/observability';
import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';

describe('Function: createServiceRegistry', () => {
  it('returns a registry of its own with the default metrics and no gauge named *_total', async () => {
    // Act
    const registry = createServiceRegistry();
    const metrics = await registry.getMetricsAsJSON();

    // Assess
    expect(registry).not.toBe(register);
    expect(metrics.map((metric) => metric.name)).toContain('process_cpu_seconds_total');
    const misnamed = metrics.filter((metric) => String(metric.type) !== 'counter' && metric.name.endsWith('_total'));
    expect(misnamed).toEqual([]);
  });
});
