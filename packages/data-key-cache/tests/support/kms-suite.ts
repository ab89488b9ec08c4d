import { inject } from 'vitest';

const emulators = inject('emulators');

/** True when moto_server is missing here; the KMS suites then skip, saying why. */
export const kmsMissing = emulators.kmsMissing || emulators.endpoints.kms === undefined;
if (kmsMissing) console.warn('[data-key-cache] moto_server is not on PATH: skipping the KMS integration suites');

export const motoEndpoint = emulators.endpoints.kms ?? '';
export const regions = emulators.regions;
