import type { _Record } from '@aws-sdk/client-kinesis';
import { marshall } from '@aws-sdk/util-dynamodb';
import { KmsUnavailableError } from '@records/data-key-cache';
import type { RecordDecryptor } from '@records/envelope';
import { PipelineError } from '@records/pipeline-config';
import type { DeadLetter, DeadLetterSink } from './dead-letter-sink.js';
import { TransientProcessingError, UnprocessableRecordError } from './errors.js';
import type { ConsumerMetrics } from './metrics.js';
import type { Item, TableWriter } from './table-writer.js';

export interface RecordProcessorDeps {
  readonly region: string;
  readonly streamName: string;
  readonly decryptor: Pick<RecordDecryptor, 'decrypt'>;
  readonly table: Pick<TableWriter, 'putAll'>;
  readonly deadLetters: Pick<DeadLetterSink, 'put'>;
  readonly metrics: ConsumerMetrics;
  readonly decryptConcurrency: number;
  readonly logger: { warn(object: object, message: string): void };
}

type Outcome = { readonly item: Item } | { readonly letter: DeadLetter };

function parseRecord(plaintext: Uint8Array): Record<string, unknown> & { id: string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).toString('utf8'));
  } catch {
    throw new UnprocessableRecordError('INVALID_PAYLOAD', 'the decrypted record is not JSON');
  } finally {
    plaintext.fill(0);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UnprocessableRecordError('INVALID_PAYLOAD', 'the decrypted record is not a JSON object');
  }
  const { id } = value as { id?: unknown };
  if (typeof id !== 'string' || id === '') {
    throw new UnprocessableRecordError('INVALID_PAYLOAD', 'the decrypted record has no string id');
  }
  return value as Record<string, unknown> & { id: string };
}

/**
 * Turns one batch of a shard into table items: decrypt, check the stream in the signed context,
 * write. Records that can never be written go to the dead-letter table. The batch either
 * completes (every record written or dead-lettered) or throws, and is then retried whole:
 * writes are idempotent puts keyed by record id.
 */
export function createRecordProcessor(deps: RecordProcessorDeps) {
  const { region, streamName, metrics, logger } = deps;

  async function toItem(shardId: string, record: _Record): Promise<Outcome> {
    const letter = (reason: string, message: string): Outcome => ({ letter: { shardId, record, reason, message } });
    let plaintext: Uint8Array;
    try {
      plaintext = await deps.decryptor.decrypt(record.Data ?? new Uint8Array(), streamName);
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
      const value = parseRecord(plaintext);
      return {
        item: {
          id: { S: value.id },
          // Numbers past 2^53 are stored as the JSON parser read them, the same value the producer was sent.
          record: { M: marshall(value, { removeUndefinedValues: true, allowImpreciseNumbers: true }) },
          stream: { S: streamName },
          region: { S: region },
          shardId: { S: shardId },
          sequenceNumber: { S: record.SequenceNumber ?? '' },
          ...(record.ApproximateArrivalTimestamp === undefined
            ? {}
            : { arrivedAt: { S: record.ApproximateArrivalTimestamp.toISOString() } }),
        },
      };
    } catch (error) {
      if (error instanceof UnprocessableRecordError) return letter(error.code, error.message);
      return letter('INVALID_PAYLOAD', 'the decrypted record cannot be stored as an item');
    }
  }

  return async function processBatch(shardId: string, records: readonly _Record[]): Promise<void> {
    const outcomes: Outcome[] = [];
    for (let start = 0; start < records.length; start += deps.decryptConcurrency) {
      const slice = records.slice(start, start + deps.decryptConcurrency);
      outcomes.push(...(await Promise.all(slice.map((record) => toItem(shardId, record)))));
    }
    const items = outcomes.flatMap((outcome) => ('item' in outcome ? [outcome.item] : []));
    const letters = outcomes.flatMap((outcome) => ('letter' in outcome ? [outcome.letter] : []));
    const rejected = await deps.table.putAll(items);
    for (const { item, reason } of rejected) {
      const record = records.find((candidate) => candidate.SequenceNumber === item.sequenceNumber?.S);
      if (record !== undefined) letters.push({ shardId, record, reason: 'ITEM_REJECTED', message: reason });
    }
    await deps.deadLetters.put(letters);
    metrics.written.inc({ region }, items.length - rejected.length);
    for (const letter of letters) {
      metrics.deadLettered.inc({ region, reason: letter.reason });
      // DynamoDB's refusal can quote the item, so only its code is logged; the message is in the table.
      const detail = letter.reason === 'ITEM_REJECTED' ? undefined : letter.message;
      logger.warn(
        { shardId, sequenceNumber: letter.record.SequenceNumber, reason: letter.reason, detail },
        'record dead-lettered',
      );
    }
  };
}

export type RecordProcessor = ReturnType<typeof createRecordProcessor>;
