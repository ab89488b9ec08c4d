import { inject } from 'vitest';

const emulators = inject('emulators');

export const { regions } = emulators;
const { endpoints } = emulators;
export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** True when moto_server is missing here: the suites that need KMS then skip, saying why. */
export const kmsMissing = emulators.kmsMissing || endpoints.kms === undefined;

export function warnIfKmsMissing(suite: string): void {
  if (kmsMissing) console.warn(`[consumer] ${suite} skipped: moto_server is not on PATH, so there is no KMS emulator`);
}

export function kinesisEndpoint(): string {
  if (endpoints.kinesis === undefined) throw new Error('the emulators started no kinesis-local');
  return endpoints.kinesis;
}

export function dynamodbEndpoints(): Readonly<Record<string, string>> {
  if (endpoints.dynamodb === undefined) throw new Error('the emulators started no dynalite');
  return endpoints.dynamodb;
}

export function motoEndpoint(): string {
  if (endpoints.kms === undefined) throw new Error('the emulators started no moto_server');
  return endpoints.kms;
}
