import { type EmulatorEndpoints, startEmulatorSet } from '@records/local-stack';
import { DEFAULT_REGIONS } from '@records/pipeline-config';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    emulators: { endpoints: EmulatorEndpoints; regions: string[]; kmsMissing: boolean };
  }
}

/**
 * Starts one set of real emulators for the integration suites: kinesis-local, one dynalite per
 * region and moto_server for KMS. Without moto the KMS suites skip with a printed reason, except on
 * CI, where a missing moto fails the run.
 */
export default async function setup(project: TestProject) {
  const regions = [...DEFAULT_REGIONS];
  const set = await startEmulatorSet({ regions, services: { kinesis: true, dynamodb: true, kms: true } });
  if (set.kmsMissing) {
    if (process.env.CI === 'true') {
      await set.stop();
      throw new Error('moto_server is not on PATH: CI runs the KMS suites and cannot skip them');
    }
    console.warn('[emulators] moto_server is not on PATH: the KMS integration suites will be skipped');
  }
  project.provide('emulators', { endpoints: set.endpoints, regions, kmsMissing: set.kmsMissing });
  return () => set.stop();
}
