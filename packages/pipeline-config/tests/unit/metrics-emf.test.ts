import { ConfigError, loadEmfSettings } from '@records/pipeline-config';
import { describe, expect, it } from 'vitest';

describe('Function: loadEmfSettings', () => {
  it('returns EMF off, in the RecordsPipeline namespace, every 60 s, when nothing is set', () => {
    // Act
    const settings = loadEmfSettings({});

    // Assess
    expect(settings).toEqual({ enabled: false, namespace: 'RecordsPipeline', intervalMs: 60_000 });
  });

  it('turns EMF on when POWERTOOLS_METRICS_NAMESPACE is set, in that namespace', () => {
    // Act
    const settings = loadEmfSettings({ POWERTOOLS_METRICS_NAMESPACE: 'Elsewhere' });

    // Assess
    expect(settings).toMatchObject({ enabled: true, namespace: 'Elsewhere' });
  });

  it('returns EMF on by the default the caller gives, and off when METRICS_EMF says so', () => {
    // Act
    const byDefault = loadEmfSettings({}, { defaultOn: true });
    const turnedOff = loadEmfSettings({ METRICS_EMF: 'off', POWERTOOLS_METRICS_NAMESPACE: 'X' }, { defaultOn: true });

    // Assess
    expect(byDefault.enabled).toBe(true);
    expect(turnedOff.enabled).toBe(false);
  });

  it('throws a ConfigError naming METRICS_EMF and its accepted values for anything else', () => {
    // Act
    const act = () => loadEmfSettings({ METRICS_EMF: 'yes' });

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/METRICS_EMF.*on, off/);
  });
});
