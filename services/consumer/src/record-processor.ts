import type { _Record } from '@aws-sdk/client-kinesis';
import { KmsUnavailableError } from '@records/data-key-cache';
import type { RecordDecryptor } from '@records/envelope';
import { PipelineError } from '@records/errors';
import type { Logger } from '@records/observability';
import {
  type Item,
  type JsonValue,
  parseRecordJson,
  RecordFormatError,
  RecordItemError,
  recordToItem,
  takeRecordVersion,
} from '@records/record-item';
import type { DeadLetter, DeadLetterSink } from './dead-letter-sink.js';
import { TransientProcessingError } from './errors.js';
import type { ConsumerMetrics } from './metrics.js';
import type { TableWriter } from './table-writer.js';

export interface RecordProcessorDeps {
  readonly region: string;
  readonly streamName: string;
  /** The one item attribute that holds the pipeline's own fields beside the record's. */
  readonly pipelineAttribute: string;
  readonly decryptor: Pick<RecordDecryptor, 'decrypt'>;
  readonly table: Pick<TableWriter, 'putNewer'>;
  readonly deadLetters: Pick<DeadLetterSink, 'put'>;
  readonly metrics: ConsumerMetrics;
  readonly decryptConcurrency: number;
  readonly logger: Pick<Logger, 'warn'>;
}

/** Which records of a finished batch were written, and which dead-lettered, by sequence number. */
export interface BatchOutcome {
  readonly written: readonly string[];
  readonly deadLettered: readonly string[];
}

type Outcome = { readonly item: Item; readonly record: _Record } | { readonly letter: DeadLetter };

// What the shared conversion refuses, as the dead-letter reasons the README documents.
const ITEM_REASONS: Readonly<Record<string, string>> = {
  MISSING_ID: 'MISSING_ID',
  RESERVED_ATTRIBUTE: 'RESERVED_ATTRIBUTE',
  RECORD_NOT_STORABLE: 'ITEM_REJECTED',
};

/** Said of the decrypted record, with the parser's own words (which quote the text) left out. */
function formatMessage(error: RecordFormatError): string {
  if (error.code === 'INVALID_ENCODING') return 'INVALID_ENCODING: the decrypted record is not valid UTF-8';
  return `INVALID_JSON: the decrypted record is not valid JSON: ${error.problem ?? 'unexpected text'}`;
}

function parsePlaintext(plaintext: Uint8Array): JsonValue {
  try {
    return parseRecordJson(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Turns one batch of a shard into table items: decrypt, check the signed context, write. The item
 * is the record itself, converted exactly as the producer checked it, plus the pipeline's own
 * attribute. Records that can never be written go to the dead-letter table. The batch either
 * completes (every record written or dead-lettered) or throws, and is then retried whole: writes
 * are idempotent puts keyed by record id.
 */
export function createRecordProcessor(deps: RecordProcessorDeps) {
  const { region, streamName, pipelineAttribute, metrics, logger } = deps;

  async function toItem(shardId: string, record: _Record): Promise<Outcome> {
    const letter = (reason: string, message: string): Outcome => ({ letter: { shardId, record, reason, message } });
    let plaintext: Uint8Array;
    try {
      const decrypted = await deps.decryptor.decrypt(record.Data ?? new Uint8Array(), streamName);
      plaintext = decrypted.plaintext;
      metrics.decrypted.inc({ region, algorithm_suite: decrypted.suite });
    } catch (error) {
      // KMS could not be used (down, throttled, or this data key is inside the back-off of such a
      // failure): the record is not known to be bad, so the batch waits for KMS.
      if (error instanceof KmsUnavailableError) {
        throw new TransientProcessingError(`KMS in ${region} is unavailable`, { cause: error });
      }
      const code = error instanceof PipelineError && error.code === 'CONTEXT_MISMATCH' ? error.code : 'DECRYPT_FAILED';
      return letter(code, error instanceof Error ? error.message : String(error));
    }
    try {
      // The version rides inside the ciphertext, under the reserved attribute; the rest is the record.
      const { record: value, version } = takeRecordVersion(parsePlaintext(plaintext), pipelineAttribute);
      const { item } = recordToItem(value, { pipelineAttribute });
      item[pipelineAttribute] = {
        M: {
          ...(version === undefined ? {} : { version: { S: version } }),
          stream: { S: streamName },
          region: { S: region },
          shardId: { S: shardId },
          sequenceNumber: { S: record.SequenceNumber ?? '' },
          ...(record.ApproximateArrivalTimestamp === undefined
            ? {}
            : { arrivedAt: { S: record.ApproximateArrivalTimestamp.toISOString() } }),
        },
      };
      return { item, record };
    } catch (error) {
      if (error instanceof RecordFormatError) return letter('INVALID_PAYLOAD', formatMessage(error));
      if (error instanceof RecordItemError) {
        // The path is made of the record's own attribute names: only what is wrong is said.
        const message = error.problem === undefined ? error.message : `${error.code}: ${error.problem}`;
        return letter(ITEM_REASONS[error.code] ?? 'INVALID_PAYLOAD', message);
      }
      if (error instanceof PipelineError) return letter('INVALID_PAYLOAD', error.message);
      return letter('INVALID_PAYLOAD', 'the decrypted record cannot be stored as an item');
    }
  }

  return async function processBatch(shardId: string, records: readonly _Record[]): Promise<BatchOutcome> {
    const outcomes: Outcome[] = [];
    for (let start = 0; start < records.length; start += deps.decryptConcurrency) {
      const slice = records.slice(start, start + deps.decryptConcurrency);
      outcomes.push(...(await Promise.all(slice.map((record) => toItem(shardId, record)))));
    }
    const written = outcomes.flatMap((outcome) => ('item' in outcome ? [outcome] : []));
    const letters = outcomes.flatMap((outcome) => ('letter' in outcome ? [outcome.letter] : []));
    // By id: the writer may hand back copies, and keeps only the last version of an id in a batch.
    const sources = new Map(written.map(({ item, record }) => [item.id?.S, record]));
    const { rejected, stale } = await deps.table.putNewer(
      written.map(({ item }) => item),
      pipelineAttribute,
    );
    if (stale > 0) metrics.staleWritesSkipped.inc({ region }, stale);
    const storedAt = Date.now();
    for (const { record } of written) {
      const arrived = record.ApproximateArrivalTimestamp?.getTime();
      if (arrived !== undefined) metrics.ingestToStore.observe({ region }, Math.max(0, storedAt - arrived) / 1000);
    }
    for (const { item, reason } of rejected) {
      const record = sources.get(item.id?.S);
      if (record !== undefined) letters.push({ shardId, record, reason: 'ITEM_REJECTED', message: reason });
    }
    await deps.deadLetters.put(letters);
    metrics.written.inc({ region }, written.length - rejected.length - stale);
    for (const letter of letters) {
      metrics.deadLettered.inc({ region, reason: letter.reason });
      // DynamoDB's refusal can quote the item, so only its code is logged; the message is in the table.
      const detail = letter.reason === 'ITEM_REJECTED' ? undefined : letter.message;
      logger.warn(
        { shardId, sequenceNumber: letter.record.SequenceNumber, reason: letter.reason, detail },
        'record dead-lettered',
      );
    }
    const deadLettered = new Set(letters.map((letter) => letter.record.SequenceNumber ?? ''));
    return {
      written: records.map((record) => record.SequenceNumber ?? '').filter((sequence) => !deadLettered.has(sequence)),
      deadLettered: [...deadLettered],
    };
  };
}

export type RecordProcessor = ReturnType<typeof createRecordProcessor>;
