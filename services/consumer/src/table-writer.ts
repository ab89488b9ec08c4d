import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { isTransientAwsError } from '@records/aws-clients';
import { retry } from '@records/retry';
import { TransientProcessingError } from './errors.js';

export type Item = Record<string, AttributeValue>;

export interface RejectedItem {
  readonly item: Item;
  readonly reason: string;
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
      if (error instanceof Error && error.name === 'ValidationException') {
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
        if (!(error instanceof Error && error.name === 'ValidationException')) {
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
