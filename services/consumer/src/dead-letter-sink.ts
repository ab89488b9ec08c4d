import { createHash } from 'node:crypto';
import type { _Record } from '@aws-sdk/client-kinesis';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Item, TableWriter } from './table-writer.js';

export interface DeadLetter {
  readonly shardId: string;
  readonly record: _Record;
  /** A stable code, documented in the README: DECRYPT_FAILED, CONTEXT_MISMATCH, MISSING_ID, … */
  readonly reason: string;
  /** Says why without any plaintext. */
  readonly message: string;
}

/** A DynamoDB item holds 400 KB: a ciphertext larger than this is kept in parts of this size. */
const CIPHERTEXT_PART_BYTES = 300 * 1024;
/** A message longer than this is cut: it is the sender's to fill (a context, say), not ours. */
const MAX_MESSAGE_CHARS = 1024;

/** A dead letter as stored (marshalled by @aws-sdk/util-dynamodb, as lib-dynamodb does). */
export interface DeadLetterRow {
  readonly id: string;
  readonly reason: string;
  readonly message: string;
  readonly stream: string;
  readonly region: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly deadLetteredAt: string;
  readonly arrivedAt?: string | undefined;
  readonly ciphertextBytes: number;
  readonly ciphertextSha256: string;
  /** The ciphertext itself, when it fits the item. */
  readonly ciphertext?: Uint8Array;
  /** Otherwise, how many part items hold it. */
  readonly ciphertextParts?: number;
}

/** One part of a ciphertext too large for its dead letter's item. */
export interface CiphertextPart {
  readonly id: string;
  readonly partOf: string;
  readonly ciphertext: Uint8Array;
}

function deadLetterId(shardId: string, sequenceNumber: string): string {
  return `${shardId}:${sequenceNumber}`;
}

export function ciphertextPartId(letterId: string, part: number): string {
  return `${letterId}#${part}`;
}

function truncate(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS)}… (cut)`;
}

/**
 * Keeps every record the consumer cannot write, with its reason and its whole ciphertext, in the
 * dead-letter table, keyed `<shardId>:<sequenceNumber>` so that a retried batch writes it once.
 * A ciphertext over CIPHERTEXT_PART_BYTES (Kinesis takes records up to 1 MiB) is split over items
 * `<id>#0`, `<id>#1`, …, written before the dead letter that names them, so a dead letter is never
 * found without its parts. Nothing of the plaintext is kept; messages are cut to MAX_MESSAGE_CHARS.
 */
export class DeadLetterSink {
  readonly #table: TableWriter;
  readonly #context: { readonly region: string; readonly streamName: string };

  constructor(table: TableWriter, context: { region: string; streamName: string }) {
    this.#table = table;
    this.#context = context;
  }

  async put(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const parts: Item[] = [];
    const mains = letters.map((letter): Item => {
      const data = letter.record.Data ?? new Uint8Array();
      const sequenceNumber = letter.record.SequenceNumber ?? '';
      const id = deadLetterId(letter.shardId, sequenceNumber);
      const partCount =
        data.byteLength > CIPHERTEXT_PART_BYTES ? Math.ceil(data.byteLength / CIPHERTEXT_PART_BYTES) : 0;
      for (let part = 0; part < partCount; part++) {
        const slice = data.subarray(part * CIPHERTEXT_PART_BYTES, (part + 1) * CIPHERTEXT_PART_BYTES);
        parts.push(
          marshall({ id: ciphertextPartId(id, part), partOf: id, ciphertext: slice } satisfies CiphertextPart),
        );
      }
      const row: DeadLetterRow = {
        id,
        reason: letter.reason,
        message: truncate(letter.message),
        stream: this.#context.streamName,
        region: this.#context.region,
        shardId: letter.shardId,
        sequenceNumber,
        deadLetteredAt: new Date().toISOString(),
        arrivedAt: letter.record.ApproximateArrivalTimestamp?.toISOString(),
        ciphertextBytes: data.byteLength,
        ciphertextSha256: createHash('sha256').update(data).digest('hex'),
        ...(partCount > 0 ? { ciphertextParts: partCount } : data.byteLength > 0 ? { ciphertext: data } : {}),
      };
      return marshall(row, { removeUndefinedValues: true });
    });
    // Parts first: a dead letter is written only once every part it names is.
    for (const items of [parts, mains]) {
      const rejected = await this.#table.putAll(items);
      if (rejected.length > 0) {
        throw new Error(`the dead-letter table refused ${rejected.length} item(s): ${rejected[0]?.reason}`);
      }
    }
  }
}
