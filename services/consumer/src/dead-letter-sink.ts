import type { _Record } from '@aws-sdk/client-kinesis';
import type { Item, TableWriter } from './table-writer.js';

export interface DeadLetter {
  readonly shardId: string;
  readonly record: _Record;
  /** A stable code: DECRYPT_FAILED, CONTEXT_MISMATCH, INVALID_PAYLOAD or ITEM_REJECTED. */
  readonly reason: string;
  /** Says why without any plaintext. */
  readonly message: string;
}

// DynamoDB items hold 400 KB; a larger ciphertext is kept by reference (shard and sequence number) only.
const MAX_PAYLOAD_BYTES = 350 * 1024;

/**
 * Keeps every record the consumer cannot write, with its reason and its ciphertext, in the
 * dead-letter table: keyed by shard and sequence number, so a retried batch writes it once.
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
    const items = letters.map((letter): Item => {
      const data = letter.record.Data ?? new Uint8Array();
      const fits = data.byteLength <= MAX_PAYLOAD_BYTES;
      return {
        id: { S: `${letter.shardId}:${letter.record.SequenceNumber}` },
        reason: { S: letter.reason },
        message: { S: letter.message },
        stream: { S: this.#context.streamName },
        region: { S: this.#context.region },
        shardId: { S: letter.shardId },
        sequenceNumber: { S: letter.record.SequenceNumber ?? '' },
        deadLetteredAt: { S: new Date().toISOString() },
        ...(fits && data.byteLength > 0 ? { ciphertext: { B: data } } : { ciphertextOmitted: { BOOL: true } }),
      };
    });
    const rejected = await this.#table.putAll(items);
    if (rejected.length > 0) throw new Error(`dead-letter table refused ${rejected.length} item(s)`);
  }
}
