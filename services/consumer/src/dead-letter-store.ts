import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  paginateScan,
} from '@aws-sdk/client-dynamodb';
import { ciphertextPartId } from './dead-letter-sink.js';

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

type Item = Record<string, AttributeValue>;

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
        // Parts of a large ciphertext are read with the dead letter that names them.
        if (item.reason?.S === undefined || !matches(item, filter)) continue;
        yield await this.#whole(item);
      }
    }
  }

  async remove(letters: readonly StoredDeadLetter[]): Promise<void> {
    const ids = letters.flatMap((letter) => [...letter.partIds, letter.id]);
    for (let start = 0; start < ids.length; start += 25) {
      let pending = ids.slice(start, start + 25).map((id) => ({ DeleteRequest: { Key: { id: { S: id } } } }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`the dead-letter table left ${pending.length} deletion(s) unprocessed`);
        const { UnprocessedItems } = await this.#dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [this.#tableName]: pending } }),
        );
        pending = (UnprocessedItems?.[this.#tableName] ?? []) as typeof pending;
      }
    }
  }

  async #whole(item: Item): Promise<StoredDeadLetter> {
    const id = item.id?.S ?? '';
    const partCount = Number(item.ciphertextParts?.N ?? '0');
    const partIds = Array.from({ length: partCount }, (_, part) => ciphertextPartId(id, part));
    const ciphertext = partCount === 0 ? (item.ciphertext?.B ?? new Uint8Array()) : await this.#parts(partIds);
    const expected = item.ciphertextSha256?.S;
    if (expected !== undefined && createHash('sha256').update(ciphertext).digest('hex') !== expected) {
      throw new Error(`dead letter ${id}: its ciphertext does not match its recorded digest`);
    }
    return {
      id,
      stream: item.stream?.S ?? '',
      shardId: item.shardId?.S ?? '',
      sequenceNumber: item.sequenceNumber?.S ?? '',
      reason: item.reason?.S ?? '',
      deadLetteredAt: item.deadLetteredAt?.S ?? '',
      ...(item.arrivedAt?.S === undefined ? {} : { arrivedAt: new Date(item.arrivedAt.S) }),
      ciphertext,
      partIds,
    };
  }

  async #parts(partIds: readonly string[]): Promise<Uint8Array> {
    const found = new Map<string, Uint8Array>();
    let keys = partIds.map((id) => ({ id: { S: id } }));
    for (let attempt = 1; keys.length > 0; attempt++) {
      if (attempt > 8) throw new Error('the dead-letter table did not return every ciphertext part');
      const { Responses, UnprocessedKeys } = await this.#dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [this.#tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const part of Responses?.[this.#tableName] ?? []) {
        if (part.id?.S !== undefined && part.ciphertext?.B !== undefined) found.set(part.id.S, part.ciphertext.B);
      }
      keys = (UnprocessedKeys?.[this.#tableName]?.Keys ?? []) as typeof keys;
    }
    const parts = partIds.map((id) => {
      const part = found.get(id);
      if (part === undefined) throw new Error(`ciphertext part ${id} is missing`);
      return part;
    });
    return Buffer.concat(parts);
  }
}

function matches(item: Item, filter: DeadLetterFilter): boolean {
  const reason = item.reason?.S ?? '';
  if (filter.reasons !== undefined && filter.reasons.length > 0 && !filter.reasons.includes(reason)) return false;
  const at = Date.parse(item.deadLetteredAt?.S ?? '');
  if (filter.since !== undefined && !(at >= filter.since.getTime())) return false;
  if (filter.until !== undefined && !(at < filter.until.getTime())) return false;
  return true;
}
