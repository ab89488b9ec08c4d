import { createHash } from 'node:crypto';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  paginateScan,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { retry } from '@records/retry';
import { type CiphertextPart, ciphertextPartId, type DeadLetterRow } from './dead-letter-sink.js';

/** A dead letter read back whole, its ciphertext put together again from its parts. */
export interface StoredDeadLetter {
  readonly id: string;
  readonly stream: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly reason: string;
  readonly deadLetteredAt: string;
  readonly arrivedAt?: Date;
  readonly ciphertext: Uint8Array;
  /** Item ids of the ciphertext's parts, removed with the dead letter. */
  readonly partIds: readonly string[];
}

export interface DeadLetterFilter {
  /** Only these reasons; every reason when empty. */
  readonly reasons?: readonly string[];
  /** Only dead letters written at or after this time. */
  readonly since?: Date;
  /** Only dead letters written before this time. */
  readonly until?: Date;
}

// What DynamoDB leaves unprocessed (throttling) is asked for again, a few times.
const UNPROCESSED_RETRY = { attempts: 8, minDelayMs: 50, maxDelayMs: 2_000 } as const;

/** Reads dead letters back, by reason or time, and removes those that were redriven. */
export class DeadLetterStore {
  readonly #dynamodb: DynamoDBClient;
  readonly #tableName: string;

  constructor(dynamodb: DynamoDBClient, tableName: string) {
    this.#dynamodb = dynamodb;
    this.#tableName = tableName;
  }

  async *find(filter: DeadLetterFilter = {}): AsyncGenerator<StoredDeadLetter> {
    for await (const page of paginateScan(
      { client: this.#dynamodb },
      { TableName: this.#tableName, ConsistentRead: true },
    )) {
      for (const item of page.Items ?? []) {
        const row = unmarshall(item) as DeadLetterRow | CiphertextPart;
        // Parts of a large ciphertext are read with the dead letter that names them.
        if (!('reason' in row) || !matches(row, filter)) continue;
        yield await this.#whole(row);
      }
    }
  }

  async remove(letters: readonly StoredDeadLetter[]): Promise<void> {
    const ids = letters.flatMap((letter) => [...letter.partIds, letter.id]);
    for (let start = 0; start < ids.length; start += 25) {
      let pending = ids.slice(start, start + 25).map((id) => ({ DeleteRequest: { Key: { id: { S: id } } } }));
      await retry(async () => {
        const { UnprocessedItems } = await this.#dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [this.#tableName]: pending } }),
        );
        pending = (UnprocessedItems?.[this.#tableName] ?? []) as typeof pending;
        if (pending.length > 0) throw new Error(`the dead-letter table left ${pending.length} deletion(s) unprocessed`);
      }, UNPROCESSED_RETRY);
    }
  }

  async #whole(row: DeadLetterRow): Promise<StoredDeadLetter> {
    const partIds = Array.from({ length: row.ciphertextParts ?? 0 }, (_, part) => ciphertextPartId(row.id, part));
    const ciphertext = partIds.length === 0 ? (row.ciphertext ?? new Uint8Array()) : await this.#parts(partIds);
    if (createHash('sha256').update(ciphertext).digest('hex') !== row.ciphertextSha256) {
      throw new Error(`dead letter ${row.id}: its ciphertext does not match its recorded digest`);
    }
    return {
      id: row.id,
      stream: row.stream,
      shardId: row.shardId,
      sequenceNumber: row.sequenceNumber,
      reason: row.reason,
      deadLetteredAt: row.deadLetteredAt,
      ...(row.arrivedAt === undefined ? {} : { arrivedAt: new Date(row.arrivedAt) }),
      ciphertext,
      partIds,
    };
  }

  async #parts(partIds: readonly string[]): Promise<Uint8Array> {
    const found = new Map<string, Uint8Array>();
    let keys = partIds.map((id) => ({ id: { S: id } }));
    await retry(async () => {
      const { Responses, UnprocessedKeys } = await this.#dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [this.#tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const part of Responses?.[this.#tableName] ?? []) {
        if (part.id?.S !== undefined && part.ciphertext?.B !== undefined) found.set(part.id.S, part.ciphertext.B);
      }
      keys = (UnprocessedKeys?.[this.#tableName]?.Keys ?? []) as typeof keys;
      if (keys.length > 0) throw new Error('the dead-letter table did not return every ciphertext part');
    }, UNPROCESSED_RETRY);
    const parts = partIds.map((id) => {
      const part = found.get(id);
      if (part === undefined) throw new Error(`ciphertext part ${id} is missing`);
      return part;
    });
    return Buffer.concat(parts);
  }
}

function matches(row: DeadLetterRow, filter: DeadLetterFilter): boolean {
  const { reason } = row;
  if (filter.reasons !== undefined && filter.reasons.length > 0 && !filter.reasons.includes(reason)) return false;
  const at = Date.parse(row.deadLetteredAt);
  if (filter.since !== undefined && !(at >= filter.since.getTime())) return false;
  if (filter.until !== undefined && !(at < filter.until.getTime())) return false;
  return true;
}
