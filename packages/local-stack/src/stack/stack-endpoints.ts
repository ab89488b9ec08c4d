import { join } from 'node:path';
import type { WrappingKeySettings } from '@records/pipeline-config';
import { type EmulatorSet, startEmulatorSet } from '../emulators/emulator-set.js';
import { ensureRawAesKeys } from './raw-aes-keys.js';
import type { StackConfig } from './stack-config.js';

/** Where one region's services are reached. */
interface RegionEndpoints {
  readonly kinesis: string;
  readonly dynamodb: string;
  readonly kms?: string;
}

/** The emulators started for the stack, and where every region's services are, emulated or not. */
export interface StackEndpoints {
  readonly emulators: EmulatorSet;
  /** The wrapping keys in use: local AES keys when KMS was wanted but moto_server is missing. */
  readonly wrapping: WrappingKeySettings;
  of(region: string): RegionEndpoints;
  /** One value per region, picked from its endpoints. */
  byRegion<T>(pick: (endpoints: RegionEndpoints) => T): Record<string, T>;
}

/**
 * Starts an emulator for each service that has no endpoint set, and falls back to local AES
 * wrapping keys when KMS was wanted but moto_server is missing.
 */
export async function startStackEndpoints(
  config: StackConfig,
  say: (message: string) => void,
): Promise<StackEndpoints> {
  const { pipeline, external } = config;
  const emulators = await startEmulatorSet({
    regions: pipeline.regions,
    services: {
      kinesis: external.kinesis === undefined,
      dynamodb: external.dynamodb === undefined,
      kms: pipeline.wrappingKeys.kind === 'kms' && external.kms === undefined,
    },
    ...(config.persist ? { dataDirectory: join(config.stateDirectory, 'data') } : {}),
  });
  let wrapping = pipeline.wrappingKeys;
  if (emulators.kmsMissing) {
    const keyDirectory = join(config.stateDirectory, 'keys');
    say(
      'moto_server is not on PATH, so there is no KMS emulator here. Falling back to one local AES ' +
        `wrapping key per region, kept in ${keyDirectory}. Install moto (pip install 'moto[server]') to use KMS.`,
    );
    await ensureRawAesKeys(keyDirectory, pipeline.regions);
    wrapping = { kind: 'raw-aes', keyDirectory };
  }
  const { endpoints } = emulators;
  const of = (region: string): RegionEndpoints => {
    const kinesis = external.kinesis ?? endpoints.kinesis;
    const dynamodb = external.dynamodb ?? endpoints.dynamodb?.[region];
    const kms = wrapping.kind === 'kms' ? (external.kms ?? endpoints.kms) : undefined;
    if (kinesis === undefined || dynamodb === undefined) throw new Error(`no endpoints for ${region}`);
    return { kinesis, dynamodb, ...(kms === undefined ? {} : { kms }) };
  };
  return {
    emulators,
    wrapping,
    of,
    byRegion: (pick) => Object.fromEntries(pipeline.regions.map((region) => [region, pick(of(region))])),
  };
}
