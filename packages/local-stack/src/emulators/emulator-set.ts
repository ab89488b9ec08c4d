import { join } from 'node:path';
import getPort from 'get-port';
import { startDynalite } from './dynalite.js';
import type { Emulator } from './emulator.js';
import { startKinesisLocal } from './kinesis-local.js';
import { findMotoServer, startMoto } from './moto.js';

export interface EmulatorSetOptions {
  readonly regions: readonly string[];
  /** Which services to emulate; a service left out is expected to be reachable elsewhere. */
  readonly services: { readonly kinesis: boolean; readonly dynamodb: boolean; readonly kms: boolean };
  /** Keeps Kinesis and DynamoDB data under this folder across restarts; in memory when unset. */
  readonly dataDirectory?: string;
  readonly onOutput?: (emulator: string, line: string) => void;
}

/** Endpoints of the emulators that were started. A missing service was not started. */
export interface EmulatorEndpoints {
  readonly kinesis?: string;
  readonly dynamodb?: Readonly<Record<string, string>>;
  readonly kms?: string;
}

export interface EmulatorSet {
  readonly endpoints: EmulatorEndpoints;
  /** True when KMS was asked for but moto_server is not installed. */
  readonly kmsMissing: boolean;
  stop(): Promise<void>;
}

/** Starts kinesis-local, one dynalite per region and moto_server, each on a free loopback port. */
export async function startEmulatorSet(options: EmulatorSetOptions): Promise<EmulatorSet> {
  const started: Emulator[] = [];
  const stop = async () => {
    await Promise.allSettled(started.splice(0).map((emulator) => emulator.stop()));
  };
  const output = (name: string) =>
    options.onOutput === undefined ? {} : { onOutput: (line: string) => options.onOutput?.(name, line) };
  const pending: Promise<void>[] = [];
  try {
    const endpoints: { kinesis?: string; dynamodb?: Record<string, string>; kms?: string } = {};
    if (options.services.kinesis) {
      pending.push(
        (async () => {
          const kinesis = await startKinesisLocal({
            port: await getPort(),
            tlsPort: await getPort(),
            ...(options.dataDirectory === undefined ? {} : { persistPath: join(options.dataDirectory, 'kinesis') }),
            ...output('kinesis-local'),
          });
          started.push(kinesis);
          endpoints.kinesis = kinesis.endpoint;
        })(),
      );
    }
    let kmsMissing = false;
    if (options.services.kms) {
      pending.push(
        (async () => {
          const command = await findMotoServer();
          if (command === undefined) {
            kmsMissing = true;
            return;
          }
          const moto = await startMoto({ port: await getPort(), command, ...output('moto_server') });
          started.push(moto);
          endpoints.kms = moto.endpoint;
        })(),
      );
    }
    // Handlers attached before dynalite starts, so an early kinesis or moto failure is not unhandled.
    const settled = Promise.allSettled(pending);
    if (options.services.dynamodb) {
      const dynamodb: Record<string, string> = {};
      for (const region of options.regions) {
        const instance = await startDynalite({
          port: await getPort(),
          ...(options.dataDirectory === undefined ? {} : { path: join(options.dataDirectory, 'dynamodb', region) }),
        });
        started.push(instance);
        dynamodb[region] = instance.endpoint;
      }
      endpoints.dynamodb = dynamodb;
    }
    const results = await settled;
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    return { endpoints, kmsMissing, stop };
  } catch (error) {
    // A dynalite that failed leaves kinesis-local and moto_server still starting: stop them too.
    await Promise.allSettled(pending);
    await stop();
    throw error;
  }
}
