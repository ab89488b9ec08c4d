import type { RecordEncryptor } from '@records/envelope';
import { Deadline, type DeadlineClock } from './deadline.js';
import { ProducerErrors } from './errors.js';
import type { MultiRegionPusher, StreamPosition } from './multi-region-pusher.js';
import { prepareRecord, type RecordInput } from './record.js';

export interface IngestResult {
  readonly id: string;
  readonly regions: Readonly<Record<string, StreamPosition>>;
}

export interface RecordIngestorDeps {
  readonly streamName: string;
  /** The item attribute the pipeline keeps for itself; records may not use it. */
  readonly pipelineAttribute: string;
  readonly encryptor: Pick<RecordEncryptor, 'encrypt'>;
  readonly pusher: Pick<MultiRegionPusher, 'push'>;
  /** Everything one record waits on fits in this (REQUEST_BUDGET_MS). */
  readonly requestBudgetMs: number;
  /** Tests step time. */
  readonly clock?: DeadlineClock;
}

export interface IngestOptions {
  /** The request's own deadline; a new one of `requestBudgetMs` starts when none is given. */
  readonly deadline?: Deadline;
}

export type RecordIngestor = (record: RecordInput, options?: IngestOptions) => Promise<IngestResult>;

/** Validate, serialize, encrypt once, put everywhere: all within one deadline. */
export function createRecordIngestor(deps: RecordIngestorDeps): RecordIngestor {
  return async (input, options = {}) => {
    const record = prepareRecord(input, deps.pipelineAttribute);
    const deadline = options.deadline ?? Deadline.start(deps.requestBudgetMs, deps.clock);
    try {
      const plaintext = Buffer.from(record.json, 'utf8');
      let ciphertext: Uint8Array;
      try {
        // The data key may come from a KMS call the cache shares with other requests, which this one
        // cannot cancel: it stops waiting instead. An encryption that finishes after the budget is
        // thrown away, so a record answered KMS_TIMEOUT is never put.
        ciphertext = await deadline.race(deps.encryptor.encrypt(plaintext, deps.streamName), () => {
          return new ProducerErrors.KMS_TIMEOUT();
        });
      } finally {
        // Also when the race is lost: the abandoned encryption then reads zeros, and its result is dropped.
        plaintext.fill(0);
      }
      const regions = await deps.pusher.push(record.id, ciphertext, deadline);
      return { id: record.id, regions };
    } finally {
      if (options.deadline === undefined) deadline.dispose();
    }
  };
}
