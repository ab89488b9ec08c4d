import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

/** The position a shard reader resumes from: after a sequence number, or nowhere (the shard is done). */
export type Checkpoint = { readonly kind: 'after'; readonly sequenceNumber: string } | { readonly kind: 'shard-end' };

export interface CheckpointStoreOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly streamName: string;
}

const SHARD_END = 'SHARD_END';

/** A checkpoint row as stored: sequence numbers stay strings (they exceed what a number holds). */
interface CheckpointRow {
  readonly id: string;
  readonly stream: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly updatedAt: string;
}

/**
 * Per shard, the last sequence number whose batch was fully written or dead-lettered, in the
 * checkpoint table (keyed `<stream>/<shardId>`). A restarted consumer resumes after it; a
 * checkpoint trails the table, so a crash rewrites at most one batch, idempotently.
 */
export class CheckpointStore {
  readonly #options: CheckpointStoreOptions;
  readonly #documents: DynamoDBDocumentClient;

  constructor(options: CheckpointStoreOptions) {
    this.#options = options;
    this.#documents = DynamoDBDocumentClient.from(options.dynamodb);
  }

  async load(shardId: string): Promise<Checkpoint | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#options.tableName, Key: { id: this.#key(shardId) }, ConsistentRead: true }),
    );
    const sequenceNumber = (Item as Partial<CheckpointRow> | undefined)?.sequenceNumber;
    if (typeof sequenceNumber !== 'string') return undefined;
    return sequenceNumber === SHARD_END ? { kind: 'shard-end' } : { kind: 'after', sequenceNumber };
  }

  async save(shardId: string, checkpoint: Checkpoint): Promise<void> {
    const row: CheckpointRow = {
      id: this.#key(shardId),
      stream: this.#options.streamName,
      shardId,
      sequenceNumber: checkpoint.kind === 'after' ? checkpoint.sequenceNumber : SHARD_END,
      updatedAt: new Date().toISOString(),
    };
    await this.#documents.send(new PutCommand({ TableName: this.#options.tableName, Item: row }));
  }

  #key(shardId: string): string {
    return `${this.#options.streamName}/${shardId}`;
  }
}
