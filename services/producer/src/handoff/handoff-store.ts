import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { hasErrorName } from '@records/errors';

/** A record that one region's stream has not taken yet, kept until it is delivered there. */
export interface HandoffEntry {
  /** The region whose stream the record is still to reach. */
  readonly target: string;
  /** The record's version: unique, and the order in which entries are read (oldest first). */
  readonly version: string;
  readonly id: string;
  /** The message as the producer encrypted it, wrapped for every region: nothing is decrypted in transit. */
  readonly ciphertext: Uint8Array;
  /** Wall-clock ms when it was written: the oldest one's age is the target region's recovery point. */
  readonly createdAt: number;
}

/** An entry as read back, with the claim it carries, if any. */
export interface StoredHandoffEntry extends HandoffEntry {
  /** Wall-clock ms until which a repairer holds the entry; 0 when free. */
  readonly claimedUntil: number;
}

/** What a target region has waiting in one table. */
export interface HandoffCount {
  readonly entries: number;
  readonly bytes: number;
  /** When the oldest entry waiting was written (wall-clock ms), or undefined when none is. */
  readonly oldestCreatedAt: number | undefined;
}

export interface HandoffStoreOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
}

/**
 * Entries of one target region are spread over this many partition keys, so a region's outage at
 * full ingest rate does not write one DynamoDB partition past its limit (1,000 writes a second).
 */
export const HANDOFF_BUCKETS = 8;

function bucketOf(id: string): number {
  return (createHash('sha256').update(id).digest()[0] ?? 0) % HANDOFF_BUCKETS;
}

const partitionKeys = (target: string) => Array.from({ length: HANDOFF_BUCKETS }, (_, bucket) => `${target}#${bucket}`);

function toEntry(item: Record<string, AttributeValue>): StoredHandoffEntry {
  return {
    target: item.target?.S ?? '',
    version: item.version?.S ?? '',
    id: item.id?.S ?? '',
    ciphertext: item.ciphertext?.B ?? new Uint8Array(),
    createdAt: Number(item.createdAt?.N ?? '0'),
    claimedUntil: Number(item.claimedUntil?.N ?? '0'),
  };
}

/**
 * One region's hand-off table. Every change is one conditional write, so repairers in several
 * producer processes share the entries without a coordinator: a claim is taken only when the entry
 * is free or its claim has run out, and an entry is removed only by the holder of its claim.
 */
export class HandoffStore {
  readonly #options: HandoffStoreOptions;

  constructor(options: HandoffStoreOptions) {
    this.#options = options;
  }

  get tableName(): string {
    return this.#options.tableName;
  }

  async put(entry: HandoffEntry, signal?: AbortSignal): Promise<void> {
    await this.#options.dynamodb.send(
      new PutItemCommand({
        TableName: this.#options.tableName,
        Item: {
          pk: { S: `${entry.target}#${bucketOf(entry.id)}` },
          version: { S: entry.version },
          target: { S: entry.target },
          id: { S: entry.id },
          ciphertext: { B: entry.ciphertext },
          bytes: { N: String(entry.ciphertext.byteLength) },
          createdAt: { N: String(entry.createdAt) },
        },
      }),
      { abortSignal: signal },
    );
  }

  /** Up to `limit` entries for `target` from each bucket, oldest first within a bucket. */
  async oldest(target: string, limit: number, signal?: AbortSignal): Promise<StoredHandoffEntry[]> {
    const pages = await Promise.all(
      partitionKeys(target).map((pk) =>
        this.#options.dynamodb.send(
          new QueryCommand({
            TableName: this.#options.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: pk } },
            Limit: limit,
            ConsistentRead: true,
          }),
          { abortSignal: signal },
        ),
      ),
    );
    return pages.flatMap((page) => (page.Items ?? []).map(toEntry));
  }

  /** Counts what `target` has waiting here: every page of every bucket, only the small attributes. */
  async backlog(target: string, signal?: AbortSignal): Promise<HandoffCount> {
    let entries = 0;
    let bytes = 0;
    let oldestCreatedAt: number | undefined;
    for (const pk of partitionKeys(target)) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.#options.dynamodb.send(
          new QueryCommand({
            TableName: this.#options.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: pk } },
            ProjectionExpression: 'bytes, createdAt',
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
          { abortSignal: signal },
        );
        for (const item of page.Items ?? []) {
          entries++;
          bytes += Number(item.bytes?.N ?? '0');
          const createdAt = Number(item.createdAt?.N ?? Number.NaN);
          if (createdAt < (oldestCreatedAt ?? Number.POSITIVE_INFINITY)) oldestCreatedAt = createdAt;
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
    return { entries, bytes, oldestCreatedAt };
  }

  /**
   * Takes the entry for `owner` until `until` (wall-clock ms), when it is free or its claim ran
   * out before `now`. False when another holds it, or it is gone (delivered meanwhile).
   */
  async claim(entry: StoredHandoffEntry, owner: string, now: number, until: number): Promise<boolean> {
    try {
      await this.#options.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#options.tableName,
          Key: this.#key(entry),
          UpdateExpression: 'SET claimedBy = :owner, claimedUntil = :until',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(claimedUntil) OR claimedUntil < :now)',
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':until': { N: String(until) },
            ':now': { N: String(now) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (hasErrorName(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  /**
   * Frees an entry `owner` claimed but could not deliver, so the next round (of any process) may try
   * it at once instead of after the claim runs out. False when `owner` no longer holds it.
   */
  async release(entry: HandoffEntry, owner: string): Promise<boolean> {
    try {
      await this.#options.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#options.tableName,
          Key: this.#key(entry),
          UpdateExpression: 'REMOVE claimedBy, claimedUntil',
          ConditionExpression: 'claimedBy = :owner',
          ExpressionAttributeValues: { ':owner': { S: owner } },
        }),
      );
      return true;
    } catch (error) {
      if (hasErrorName(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  /** Removes a delivered entry, if `owner` still holds its claim; another holder delivers it again, harmlessly. */
  async remove(entry: HandoffEntry, owner: string): Promise<boolean> {
    try {
      await this.#options.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.#options.tableName,
          Key: this.#key(entry),
          ConditionExpression: 'claimedBy = :owner',
          ExpressionAttributeValues: { ':owner': { S: owner } },
        }),
      );
      return true;
    } catch (error) {
      if (hasErrorName(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  #key(entry: HandoffEntry): Record<string, AttributeValue> {
    return { pk: { S: `${entry.target}#${bucketOf(entry.id)}` }, version: { S: entry.version } };
  }
}
