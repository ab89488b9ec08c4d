import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/app.js';
import { createProducerMetrics } from '../../src/metrics.js';
import { createRecordIngestor, type RecordIngestor, type RecordIngestorDeps } from '../../src/record-ingestor.js';
import { HybridClock } from '../../src/versions/hybrid-clock.js';

export const POSITION = { shardId: 'shardId-000000000000', sequenceNumber: '1' };

export async function appWith(
  ingest: RecordIngestor,
  options: {
    ready?: boolean;
    clockSkewed?: boolean;
    logs?: string[];
    registry?: Registry;
    admission?: { maxInFlightRecords: number; maxInFlightBytes: number };
    apiKeys?: string[];
  } = {},
) {
  const logs = options.logs ?? [];
  const registry = options.registry ?? new Registry();
  return buildApp({
    logger: pino({ level: 'info' }, { write: (line: string) => logs.push(line) }),
    registry,
    metrics: createProducerMetrics(registry),
    ingest,
    isReady: () => options.ready ?? true,
    isClockSkewed: () => options.clockSkewed ?? false,
    bodyLimit: 1024,
    ...(options.admission === undefined ? {} : { admission: options.admission }),
    ...(options.apiKeys === undefined ? {} : { apiKeys: options.apiKeys }),
  });
}

/** The real ingestor, over an encryptor and a pusher that need no AWS. */
export function realIngestor(
  push: RecordIngestorDeps['pusher']['push'] = async () => ({
    regions: { 'us-east-1': POSITION, 'eu-west-1': POSITION },
    pending: [],
  }),
): RecordIngestor {
  return createRecordIngestor({
    streamName: 'records',
    pipelineAttribute: '_pipeline',
    requestBudgetMs: 10_000,
    encryptor: { encrypt: async (plaintext) => Uint8Array.from(plaintext) },
    pusher: { push },
    ...unskewedClock(),
  });
}

/** The clock an ingestor versions with, for tests about other things: no skew bound, never skewed. */
export function unskewedClock(): Pick<RecordIngestorDeps, 'clock' | 'skew'> {
  return {
    clock: new HybridClock({ now: () => Date.now(), maxClockSkewMs: 0, nodeId: 'a1b2c3d4' }),
    skew: { skewed: false, retryAfterMs: 1_000 },
  };
}
