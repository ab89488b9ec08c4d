import type { RecordEncryptor } from '@records/envelope';
import { stringifyRecordJson, withRecordVersion } from '@records/record-item';
import { ClockSkewedError } from './errors.js';
import type { MultiRegionPusher, StreamPosition } from './multi-region-pusher.js';
import { prepareRecord, type RecordInput } from './record.js';
import type { HybridClock } from './versions/hybrid-clock.js';

export interface IngestResult {
  readonly id: string;
  /** The record's version: a later-posted record of the same id always has a larger one. */
  readonly version: string;
  readonly regions: Readonly<Record<string, StreamPosition>>;
  /** Regions whose stream has not taken the record yet: a hand-off entry delivers it there. */
  readonly pending: readonly string[];
}

export interface RecordIngestorDeps {
  readonly streamName: string;
  /** The item attribute the pipeline keeps for itself; records may not use it. */
  readonly pipelineAttribute: string;
  readonly encryptor: Pick<RecordEncryptor, 'encrypt'>;
  readonly pusher: Pick<MultiRegionPusher, 'push'>;
  readonly clock: Pick<HybridClock, 'next' | 'waitUntilAfter'>;
  /** Whether the clock is proven outside the skew bound, and how soon to ask again (ms). */
  readonly skew: { readonly skewed: boolean; readonly retryAfterMs: number };
}

export type RecordIngestor = (record: RecordInput) => Promise<IngestResult>;

/**
 * Validate, version, serialize, encrypt once, put everywhere, and answer only once the commit-wait
 * is over. The wait starts with the version, so it runs alongside encryption and the puts.
 */
export function createRecordIngestor(deps: RecordIngestorDeps): RecordIngestor {
  return async (input) => {
    if (deps.skew.skewed) throw new ClockSkewedError(deps.skew.retryAfterMs);
    const record = prepareRecord(input, deps.pipelineAttribute);
    const version = deps.clock.next();
    const committed = deps.clock.waitUntilAfter(version);
    const json = stringifyRecordJson(withRecordVersion(record.value, deps.pipelineAttribute, version.text));
    const plaintext = Buffer.from(json, 'utf8');
    let ciphertext: Uint8Array;
    try {
      ciphertext = await deps.encryptor.encrypt(plaintext, deps.streamName);
    } finally {
      plaintext.fill(0);
    }
    const { regions, pending } = await deps.pusher.push(record.id, ciphertext, version.text);
    await committed;
    return { id: record.id, version: version.text, regions, pending };
  };
}
