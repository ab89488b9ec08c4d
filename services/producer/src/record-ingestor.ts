import type { RecordEncryptor } from '@records/envelope';
import { stringifyRecordJson, withRecordVersion } from '@records/record-item';
import { Deadline, type DeadlineClock } from './deadline.js';
import { ClockSkewedError, ProducerErrors } from './errors.js';
import type { MultiRegionPusher } from './multi-region-pusher.js';
import { prepareRecord, type RecordInput } from './record.js';
import type { StreamPosition } from './stream-position.js';
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
  readonly pusher: Pick<MultiRegionPusher, 'push'> & Partial<Pick<MultiRegionPusher, 'admit'>>;
  /** Versions, and the commit-wait before the answer. */
  readonly clock: Pick<HybridClock, 'next' | 'waitUntilAfter'>;
  /** Whether the clock is proven outside the skew bound, and how soon to ask again (ms). */
  readonly skew: { readonly skewed: boolean; readonly retryAfterMs: number };
  /** Everything one record waits on fits in this (REQUEST_BUDGET_MS). */
  readonly requestBudgetMs: number;
  /** Tests step the deadline's time. */
  readonly deadlineClock?: DeadlineClock;
}

export interface IngestOptions {
  /** The request's own deadline; a new one of `requestBudgetMs` starts when none is given. */
  readonly deadline?: Deadline;
}

export type RecordIngestor = (record: RecordInput, options?: IngestOptions) => Promise<IngestResult>;

/**
 * Validate, version, serialize, encrypt once, put everywhere, and answer only once the commit-wait
 * is over: all within one deadline. The wait starts with the version, so it runs alongside
 * encryption and the puts.
 */
export function createRecordIngestor(deps: RecordIngestorDeps): RecordIngestor {
  return async (input, options = {}) => {
    if (deps.skew.skewed) throw new ClockSkewedError(deps.skew.retryAfterMs);
    const record = prepareRecord(input, deps.pipelineAttribute);
    const deadline = options.deadline ?? Deadline.start(deps.requestBudgetMs, deps.deadlineClock);
    try {
      const version = deps.clock.next();
      const committed = deps.clock.waitUntilAfter(version, deadline.signal);
      // Settled below; until then an abort must not surface as an unhandled rejection.
      committed.catch(() => {});
      const json = stringifyRecordJson(withRecordVersion(record.value, deps.pipelineAttribute, version.text));
      // A record the streams would turn away is turned away before its encryption is spent.
      deps.pusher.admit?.(record.id, Buffer.byteLength(json, 'utf8'), deadline);
      const plaintext = Buffer.from(json, 'utf8');
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
      const { regions, pending } = await deps.pusher.push(record.id, ciphertext, version.text, deadline);
      // Every region may hold the record by now, but a 201 before the commit-wait could be
      // overtaken by another producer's earlier version: past the budget, the answer is 503.
      await deadline.race(committed, () => new ProducerErrors.COMMIT_WAIT_TIMEOUT());
      return { id: record.id, version: version.text, regions, pending };
    } finally {
      if (options.deadline === undefined) deadline.dispose();
    }
  };
}
