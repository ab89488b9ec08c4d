import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { hasErrorName } from '@records/errors';

/** A table's key: string attributes, a partition key and optionally a sort key. */
export interface TableKey {
  readonly partitionKey: string;
  readonly sortKey?: string;
}

/** The producers' hand-off table: `<target region>#<bucket>`, then the record's version (oldest first). */
export const HANDOFF_TABLE_KEY: TableKey = Object.freeze({ partitionKey: 'pk', sortKey: 'version' });

/**
 * Creates an on-demand table when absent (keyed by the string attribute `id` unless `key` says
 * otherwise), and waits until it is ACTIVE.
 */
export async function ensureTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  key: TableKey = { partitionKey: 'id' },
): Promise<void> {
  const names = [key.partitionKey, ...(key.sortKey === undefined ? [] : [key.sortKey])];
  try {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
  } catch (error) {
    if (!hasErrorName(error, 'ResourceNotFoundException')) throw error;
    try {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: names.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
          KeySchema: names.map((AttributeName, index) => ({ AttributeName, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (createError) {
      if (!hasErrorName(createError, 'ResourceInUseException')) throw createError;
    }
  }
  await waitUntilTableExists(
    { client: dynamodb, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
    { TableName: tableName },
  );
}
