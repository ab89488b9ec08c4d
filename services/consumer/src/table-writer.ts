import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { isTransientAwsError } from '@records/aws-clients';
import { hasErrorName } from '@records/errors';
import { retry } from '@records/retry';
import { TransientProcessingError } from './errors.js';

export type Item = Record<string, AttributeValue>;

export interface RejectedItem {
  readonly item: Item;
  readonly reason: string;
}

/** What a guarded write did: items refused outright, and items skipped because the table holds the same or a later record. */
export interface GuardedWriteResult {
  readonly rejected: RejectedItem[];
  readonly stale: number;
}

export interface TableWriterOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** Rounds of retrying UnprocessedItems before the batch is given back as transient. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

const BATCH_SIZE = 25;

// A sequence number is a decimal integer of up to 128 digits; a DynamoDB number holds 38. Stored as a
// string, it compares as an integer by its length first and then, at equal length, as text.
const LATER_IN_STREAM =
  'attribute_not_exists(#p.#seq) OR size(#p.#seq) < :length OR (size(#p.#seq) = :length AND #p.#seq < :seq)';
// Versions are fixed-width text that sorts as they compare. An item with no version (written before
// versions, or by the documentation's example Lambda with no pipeline attribute at all) is older
// than any versioned record; a record without one (a legacy producer) never goes over one that has.
const NEWER_VERSION = 'attribute_not_exists(#p.#ver) OR #p.#ver < :ver';
const UNVERSIONED_AND_LATER = `attribute_not_exists(#p.#ver) AND (${LATER_IN_STREAM})`;

function versionOf(item: Item, pipelineAttribute: string): string | undefined {
  return item[pipelineAttribute]?.M?.version?.S;
}

/** Whether `candidate` goes over `held` (the same id, earlier in one batch) by the table's own rule. */
function supersedes(candidate: Item, held: Item, pipelineAttribute: string): boolean {
  const next = versionOf(candidate, pipelineAttribute);
  const previous = versionOf(held, pipelineAttribute);
  if (previous === undefined) return true;
  return next !== undefined && next > previous;
}

type Guard = Pick<
  PutItemCommandInput,
  'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

function guardedPut(item: Item, pipelineAttribute: string): Guard {
  const version = versionOf(item, pipelineAttribute);
  if (version !== undefined) {
    return {
      ConditionExpression: NEWER_VERSION,
      ExpressionAttributeNames: { '#p': pipelineAttribute, '#ver': 'version' },
      ExpressionAttributeValues: { ':ver': { S: version } },
    };
  }
  const sequenceNumber = item[pipelineAttribute]?.M?.sequenceNumber?.S ?? '';
  return {
    ConditionExpression: UNVERSIONED_AND_LATER,
    ExpressionAttributeNames: { '#p': pipelineAttribute, '#ver': 'version', '#seq': 'sequenceNumber' },
    ExpressionAttributeValues: { ':seq': { S: sequenceNumber }, ':length': { N: String(sequenceNumber.length) } },
  };
}

/** DynamoDB took only part of a batch; the rest is tried again. */
class UnprocessedItemsError extends Error {
  constructor(count: number, tableName: string) {
    super(`${count} item(s) still unprocessed by ${tableName}`);
  }
}

/**
 * Writes items with BatchWriteItem, retrying UnprocessedItems with jittered back-off. An item
 * DynamoDB refuses outright (a ValidationException) is returned as rejected instead of failing
 * the items written beside it.
 */
export class TableWriter {
  readonly #options: Required<TableWriterOptions>;

  constructor(options: TableWriterOptions) {
    this.#options = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2_000, ...options };
  }

  /** Items with the same `id` collapse to the last one: a batch may not name a key twice. */
  async putAll(items: readonly Item[]): Promise<RejectedItem[]> {
    const byId = new Map<string, Item>();
    for (const item of items) byId.set(item.id?.S ?? '', item);
    const unique = [...byId.values()];
    const rejected: RejectedItem[] = [];
    for (let start = 0; start < unique.length; start += BATCH_SIZE) {
      rejected.push(...(await this.#writeBatch(unique.slice(start, start + BATCH_SIZE))));
    }
    return rejected;
  }

  /**
   * Writes each item only if the table holds no newer record of its id. A versioned item
   * (`<pipelineAttribute>.version`, given by the producer inside the ciphertext) goes over an item
   * with a smaller version or none; an unversioned one only over an unversioned item earlier in
   * the stream (sequence numbers compared as integers). A replay, a late retry or a consumer that
   * lost its lease cannot put an older version over a newer one. Within one batch an id keeps its
   * newest item by the same rule; the older ones count as stale. BatchWriteItem takes no
   * conditions, so these are PutItem calls, `BATCH_SIZE` at a time.
   */
  async putNewer(items: readonly Item[], pipelineAttribute: string): Promise<GuardedWriteResult> {
    const byId = new Map<string, Item>();
    let stale = 0;
    for (const item of items) {
      const id = item.id?.S ?? '';
      const held = byId.get(id);
      if (held === undefined || supersedes(item, held, pipelineAttribute)) byId.set(id, item);
      // One of the two is skipped as older by version (or the same version again); repeats of an
      // unversioned id are written once, as before, and count as written.
      const versioned =
        versionOf(item, pipelineAttribute) !== undefined || versionOf(held ?? {}, pipelineAttribute) !== undefined;
      if (held !== undefined && versioned) stale++;
    }
    const unique = [...byId.values()];
    const rejected: RejectedItem[] = [];
    for (let start = 0; start < unique.length; start += BATCH_SIZE) {
      const outcomes = await Promise.all(
        unique.slice(start, start + BATCH_SIZE).map((item) => this.#putIfNewer(item, pipelineAttribute)),
      );
      for (const outcome of outcomes) {
        if (outcome === 'stale') stale++;
        else if (outcome !== 'written') rejected.push(outcome);
      }
    }
    return { rejected, stale };
  }

  async #putIfNewer(item: Item, pipelineAttribute: string): Promise<'written' | 'stale' | RejectedItem> {
    const { dynamodb, tableName, maxAttempts, baseDelayMs, maxDelayMs } = this.#options;
    const condition = guardedPut(item, pipelineAttribute);
    try {
      await retry(() => dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item, ...condition })), {
        attempts: maxAttempts,
        minDelayMs: baseDelayMs,
        maxDelayMs,
        shouldRetry: isTransientAwsError,
      });
      return 'written';
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'ConditionalCheckFailedException') return 'stale';
      if (name === 'ValidationException') {
        const summary = (error as Error).message.split(':')[0]?.slice(0, 200);
        return { item, reason: `DynamoDB refused the item (${name}): ${summary}` };
      }
      throw new TransientProcessingError(`writing to ${tableName} failed`, { cause: error });
    }
  }

  async #writeBatch(items: Item[]): Promise<RejectedItem[]> {
    const { dynamodb, tableName, maxAttempts, baseDelayMs, maxDelayMs } = this.#options;
    let pending: WriteRequest[] = items.map((Item) => ({ PutRequest: { Item } }));
    try {
      await retry(
        async () => {
          const { UnprocessedItems } = await dynamodb.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = UnprocessedItems?.[tableName] ?? [];
          if (pending.length > 0) throw new UnprocessedItemsError(pending.length, tableName);
        },
        {
          attempts: maxAttempts,
          minDelayMs: baseDelayMs,
          maxDelayMs,
          // Items left unprocessed (throttling) and transient failures are tried again; a refusal is not.
          shouldRetry: (error) => error instanceof UnprocessedItemsError || isTransientAwsError(error),
        },
      );
    } catch (error) {
      if (hasErrorName(error, 'ValidationException')) {
        return this.#writeOneByOne(pending.map((request) => request.PutRequest?.Item as Item));
      }
      if (error instanceof UnprocessedItemsError) throw new TransientProcessingError(error.message);
      throw new TransientProcessingError(`writing to ${tableName} failed`, { cause: error });
    }
    return [];
  }

  async #writeOneByOne(items: Item[]): Promise<RejectedItem[]> {
    const rejected: RejectedItem[] = [];
    for (const item of items) {
      try {
        await this.#options.dynamodb.send(new PutItemCommand({ TableName: this.#options.tableName, Item: item }));
      } catch (error) {
        if (!hasErrorName(error, 'ValidationException')) {
          throw new TransientProcessingError(`writing to ${this.#options.tableName} failed`, { cause: error });
        }
        // After its first colon, DynamoDB's message can quote the item's values: only the part before is kept.
        const summary = error.message.split(':')[0]?.slice(0, 200);
        rejected.push({ item, reason: `DynamoDB refused the item (${error.name}): ${summary}` });
      }
    }
    return rejected;
  }
}
