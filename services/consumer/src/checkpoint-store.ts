import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';

/** The position a shard reader resumes from: after a sequence number, or nowhere (the shard is done). */
export type Checkpoint = { readonly kind: 'after'; readonly sequenceNumber: string } | { readonly kind: 'shard-end' };

export interface CheckpointStoreOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly streamName: string;
}

const SHARD_END = 'SHARD_END';

/**
 * Per shard, the last sequence number whose batch was fully written or dead-lettered, in the
 * checkpoint table (keyed `<stream>/<shardId>`). A restarted consumer resumes after it; a
 * checkpoint trails the table, so a crash rewrites at most one batch, idempotently.
 */
export class CheckpointStore {
  readonly #options: CheckpointStoreOptions;

  constructor(options: CheckpointStoreOptions) {
    this.#options = options;
  }

  async load(shardId: string): Promise<Checkpoint | undefined> {
    const { Item } = await this.#options.dynamodb.send(
      new GetItemCommand({
        TableName: this.#options.tableName,
        Key: { id: { S: this.#key(shardId) } },
        ConsistentRead: true,
      }),
    );
    const sequenceNumber = Item?.sequenceNumber?.S;
    if (sequenceNumber === undefined) return undefined;
    return sequenceNumber === SHARD_END ? { kind: 'shard-end' } : { kind: 'after', sequenceNumber };
  }

  async save(shardId: string, checkpoint: Checkpoint): Promise<void> {
    const sequenceNumber = checkpoint.kind === 'after' ? checkpoint.sequenceNumber : SHARD_END;
    await this.#options.dynamodb.send(
      new PutItemCommand({
        TableName: this.#options.tableName,
        Item: {
          id: { S: this.#key(shardId) },
          stream: { S: this.#options.streamName },
          shardId: { S: shardId },
          sequenceNumber: { S: sequenceNumber },
          updatedAt: { S: new Date().toISOString() },
        },
      }),
    );
  }

  #key(shardId: string): string {
    return `${this.#options.streamName}/${shardId}`;
  }
}
