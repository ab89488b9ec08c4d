import { randomUUID } from 'node:crypto';
import type { RecordEncryptor } from '@records/envelope';
import type { MultiRegionPusher, StreamPosition } from './multi-region-pusher.js';
import { prepareRecord, type RecordInput } from './record.js';

export interface IngestResult {
  readonly id: string;
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
}

export type RecordIngestor = (record: RecordInput) => Promise<IngestResult>;

/** Validate, serialize, encrypt once, put everywhere. */
export function createRecordIngestor(deps: RecordIngestorDeps): RecordIngestor {
  return async (input) => {
    const record = prepareRecord(input, deps.pipelineAttribute);
    const plaintext = Buffer.from(record.json, 'utf8');
    let ciphertext: Uint8Array;
    try {
      ciphertext = await deps.encryptor.encrypt(plaintext, deps.streamName);
    } finally {
      plaintext.fill(0);
    }
    // PLACEHOLDER until versions land: a unique, time-ordered name for the hand-off entry.
    const version = `${Date.now().toString().padStart(15, '0')}-${randomUUID()}`;
    const { regions, pending } = await deps.pusher.push(record.id, ciphertext, version);
    return { id: record.id, regions, pending };
  };
}
