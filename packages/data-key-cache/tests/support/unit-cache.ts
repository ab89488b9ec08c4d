import { AlgorithmSuiteIdentifier, CommitmentPolicy, NodeAlgorithmSuite } from '@aws-crypto/client-node';
import { Registry } from 'prom-client';
import {
  type CacheRequestEvent,
  CoalescingCachingMaterialsManager,
  createDataKeyCacheMetrics,
  type DataKeyCacheOptions,
} from '../../src/index.js';
import { ManualClock, ScriptedBacking } from './scripted-backing.js';

export const suite = new NodeAlgorithmSuite(AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY);
export const commitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT;

/** Lets every pending promise callback run (the cache's own steps are promise callbacks only). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A cache over a scripted backing with a hand-moved clock and its own registry: 100 messages, 60 s
 * and 1 MB per key, refresh-ahead off, unless overridden.
 */
export function cacheUnderTest(overrides: Partial<DataKeyCacheOptions> = {}) {
  const backing = new ScriptedBacking();
  const clock = new ManualClock();
  const registry = new Registry();
  const events: CacheRequestEvent[] = [];
  const cmm = new CoalescingCachingMaterialsManager({
    backing,
    capacity: 10,
    maxAgeSeconds: 60,
    maxMessages: 100,
    maxBytes: 1_000_000,
    refreshAhead: false,
    refreshAheadAt: 0.8,
    clock: clock.now,
    metrics: createDataKeyCacheMetrics(registry),
    onRequest: (event) => events.push(event),
    ...overrides,
  });
  const results = () => events.map((event) => event.result);
  const encryptRequest = (plaintextLength: number | undefined = 10, stream = 'records') =>
    cmm.getEncryptionMaterials({ suite, encryptionContext: { stream }, commitmentPolicy, plaintextLength });
  return { backing, clock, cmm, registry, results, encryptRequest };
}

/** One sample by name (a histogram's `_bucket`, `_count` included) and labels. */
export async function sampleOf(registry: Registry, name: string, labels: Record<string, string | number> = {}) {
  const samples = (await registry.getMetricsAsJSON()).flatMap((metric) =>
    metric.values.map((value) => ({ ...value, name: (value as { metricName?: string }).metricName ?? metric.name })),
  );
  const sample = samples.find(
    (value) =>
      value.name === name && Object.entries(labels).every(([label, expected]) => value.labels[label] === expected),
  );
  return sample?.value;
}

/** Which data key a material carries, by its encrypted data keys. */
export function dataKeyOfMaterial(material: {
  encryptedDataKeys: readonly { encryptedDataKey: Uint8Array }[];
}): string {
  return material.encryptedDataKeys.map((edk) => Buffer.from(edk.encryptedDataKey).toString('base64')).join('|');
}
