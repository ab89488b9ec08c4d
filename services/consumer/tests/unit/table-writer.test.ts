import {
  BatchWriteItemCommand,
  type DynamoDBClient,
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  ResourceNotFoundException,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { TransientProcessingError } from '../../src/errors.js';
import { type Item, TableWriter } from '../../src/table-writer.js';

const TABLE = 'records';

type Command = BatchWriteItemCommand | PutItemCommand;

/** A DynamoDB client that answers each command with what the test scripts, and keeps every command. */
class ScriptedDynamoDb {
  readonly commands: Command[] = [];
  readonly #answer: (command: Command, call: number) => unknown;

  constructor(answer: (command: Command, call: number) => unknown) {
    this.#answer = answer;
  }

  async send(command: Command): Promise<unknown> {
    this.commands.push(command);
    return this.#answer(command, this.commands.length);
  }

  asClient(): DynamoDBClient {
    return this as unknown as DynamoDBClient;
  }

  /** The items of each BatchWriteItem call, by id. */
  batches(): string[][] {
    return this.commands
      .filter((command): command is BatchWriteItemCommand => command instanceof BatchWriteItemCommand)
      .map((command) => (command.input.RequestItems?.[TABLE] ?? []).map(idOf));
  }

  /** The ids of each PutItem call. */
  puts(): string[] {
    return this.commands
      .filter((command): command is PutItemCommand => command instanceof PutItemCommand)
      .map((command) => command.input.Item?.id?.S ?? '');
  }
}

function item(id: string, extra: Item = {}): Item {
  return { id: { S: id }, ...extra };
}

function idOf(request: WriteRequest): string {
  return request.PutRequest?.Item?.id?.S ?? '';
}

function requestsFor(...ids: string[]): WriteRequest[] {
  return ids.map((id) => ({ PutRequest: { Item: item(id) } }));
}

function validationException(message: string) {
  return new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}

function writer(dynamodb: ScriptedDynamoDb, maxAttempts = 8) {
  return new TableWriter({
    dynamodb: dynamodb.asClient(),
    tableName: TABLE,
    maxAttempts,
    baseDelayMs: 1,
    maxDelayMs: 2,
  });
}

describe('Class: TableWriter', () => {
  it('returns no rejected items when the UnprocessedItems are retried until every item is written', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb((_command, call) => {
      const unprocessed = [requestsFor('b', 'c'), requestsFor('c'), []][call - 1];
      return { UnprocessedItems: { [TABLE]: unprocessed } };
    });

    // Act
    const rejected = await writer(dynamodb).putAll([item('a'), item('b'), item('c')]);

    // Assess
    expect(rejected).toEqual([]);
    expect(dynamodb.batches()).toEqual([['a', 'b', 'c'], ['b', 'c'], ['c']]);
  });

  it('writes one item per id, the last one given, when ids repeat', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({ UnprocessedItems: {} }));

    // Act
    await writer(dynamodb).putAll([item('a', { version: { N: '1' } }), item('b'), item('a', { version: { N: '2' } })]);

    // Assess
    const [command] = dynamodb.commands as BatchWriteItemCommand[];
    const written = command?.input.RequestItems?.[TABLE]?.map((request) => request.PutRequest?.Item);
    expect(written).toHaveLength(2);
    expect(written).toEqual(expect.arrayContaining([item('a', { version: { N: '2' } }), item('b')]));
  });

  it('writes in BatchWriteItem calls of at most 25 items', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({}));
    const items = Array.from({ length: 60 }, (_, index) => item(`id-${index}`));

    // Act
    await writer(dynamodb).putAll(items);

    // Assess
    expect(dynamodb.batches().map((batch) => batch.length)).toEqual([25, 25, 10]);
    expect(dynamodb.batches().flat()).toEqual(items.map((written) => written.id?.S));
  });

  it('returns only the bad item as rejected when a ValidationException sends the batch to one-by-one PutItem', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb((command) => {
      if (command instanceof BatchWriteItemCommand)
        throw validationException('Item size has exceeded the maximum allowed size');
      if (command.input.Item?.id?.S === 'big')
        throw validationException('Item size has exceeded the maximum allowed size');
      return {};
    });
    const big = item('big', { blob: { S: 'x' } });

    // Act
    const rejected = await writer(dynamodb).putAll([item('a'), big, item('c')]);

    // Assess
    expect(rejected).toEqual([
      {
        item: big,
        reason: 'DynamoDB refused the item (ValidationException): Item size has exceeded the maximum allowed size',
      },
    ]);
    expect(dynamodb.puts()).toEqual(['a', 'big', 'c']);
  });

  it('keeps no part of a refusal message that can quote the item', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb((command) => {
      if (command instanceof BatchWriteItemCommand) throw validationException('invalid');
      throw validationException('One or more parameter values were invalid: Type mismatch for key, value SECRET-9');
    });

    // Act
    const rejected = await writer(dynamodb).putAll([item('a')]);

    // Assess
    expect(rejected[0]?.reason).toBe(
      'DynamoDB refused the item (ValidationException): One or more parameter values were invalid',
    );
  });

  it('throws TransientProcessingError when a throttling error lasts past maxAttempts', async () => {
    // Prepare
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    const dynamodb = new ScriptedDynamoDb(() => {
      throw throttled;
    });

    // Act
    const outcome = await writer(dynamodb, 3)
      .putAll([item('a')])
      .catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(TransientProcessingError);
    expect(outcome).toMatchObject({ code: 'TRANSIENT_FAILURE', cause: throttled });
    expect(dynamodb.batches()).toEqual([['a'], ['a'], ['a']]);
  });

  it('returns no rejected items when a throttling error clears before maxAttempts', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb((_command, call) => {
      if (call < 3) throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      return {};
    });

    // Act
    const rejected = await writer(dynamodb, 3).putAll([item('a'), item('b')]);

    // Assess
    expect(rejected).toEqual([]);
    expect(dynamodb.batches()).toHaveLength(3);
  });

  it('throws TransientProcessingError when items are still unprocessed after maxAttempts', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({ UnprocessedItems: { [TABLE]: requestsFor('b') } }));

    // Act
    const outcome = await writer(dynamodb, 4)
      .putAll([item('a'), item('b')])
      .catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(TransientProcessingError);
    expect(dynamodb.batches()).toEqual([['a', 'b'], ['b'], ['b'], ['b']]);
  });

  it('throws TransientProcessingError at once when the table does not exist', async () => {
    // Prepare
    const missing = new ResourceNotFoundException({
      message: 'Requested resource not found',
      $metadata: { httpStatusCode: 400 },
    });
    const dynamodb = new ScriptedDynamoDb(() => {
      throw missing;
    });

    // Act
    const outcome = await writer(dynamodb)
      .putAll([item('a')])
      .catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(TransientProcessingError);
    expect(outcome).toMatchObject({ cause: missing });
    expect(dynamodb.commands).toHaveLength(1);
  });

  it('makes no call when there is nothing to write', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({}));

    // Act
    const rejected = await writer(dynamodb).putAll([]);

    // Assess
    expect(rejected).toEqual([]);
    expect(dynamodb.commands).toEqual([]);
  });
});

describe('Method: TableWriter.putNewer', () => {
  const PIPELINE = '_pipeline';
  const V1 = '000001764790000000-000000-a1b2c3d4';
  const V2 = '000001764790000001-000000-a1b2c3d4';
  const SEQ = '49680796223196908670573189823894359086809174730086547458';
  const versioned = (id: string, version: string) =>
    item(id, { [PIPELINE]: { M: { version: { S: version }, sequenceNumber: { S: SEQ } } } });
  const unversioned = (id: string) => item(id, { [PIPELINE]: { M: { sequenceNumber: { S: SEQ } } } });
  const conditionalCheckFailed = () =>
    new DynamoDBServiceException({
      name: 'ConditionalCheckFailedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'The conditional request failed',
    });
  const inputs = (dynamodb: ScriptedDynamoDb) =>
    dynamodb.commands.filter((command) => command instanceof PutItemCommand).map((command) => command.input);

  it('writes a versioned item only over a smaller version or none', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({}));

    // Act
    await writer(dynamodb).putNewer([versioned('a', V1)], PIPELINE);

    // Assess
    const [input] = inputs(dynamodb);
    expect(input?.ConditionExpression).toBe('attribute_not_exists(#p.#ver) OR #p.#ver < :ver');
    expect(input?.ExpressionAttributeNames).toEqual({ '#p': PIPELINE, '#ver': 'version' });
    expect(input?.ExpressionAttributeValues).toEqual({ ':ver': { S: V1 } });
  });

  it('writes an unversioned item only over an unversioned one earlier in the stream', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({}));

    // Act
    await writer(dynamodb).putNewer([unversioned('a')], PIPELINE);

    // Assess
    const [input] = inputs(dynamodb);
    expect(input?.ConditionExpression).toMatch(
      /^attribute_not_exists\(#p\.#ver\) AND \(attribute_not_exists\(#p\.#seq\)/,
    );
    expect(input?.ExpressionAttributeNames).toEqual({ '#p': PIPELINE, '#ver': 'version', '#seq': 'sequenceNumber' });
    expect(input?.ExpressionAttributeValues).toEqual({ ':seq': { S: SEQ }, ':length': { N: String(SEQ.length) } });
  });

  it('counts a write the table refuses as older as stale, and rejects nothing', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => {
      throw conditionalCheckFailed();
    });

    // Act
    const result = await writer(dynamodb).putNewer([versioned('a', V1), unversioned('b')], PIPELINE);

    // Assess
    expect(result).toEqual({ rejected: [], stale: 2 });
  });

  it('keeps the newest version of an id within one batch, whatever its place, and counts the others as stale', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({}));

    // Act
    const result = await writer(dynamodb).putNewer(
      [unversioned('a'), versioned('a', V2), versioned('a', V1), unversioned('a')],
      PIPELINE,
    );

    // Assess
    expect(inputs(dynamodb).map((input) => input.ExpressionAttributeValues?.[':ver']?.S)).toEqual([V2]);
    expect(result).toEqual({ rejected: [], stale: 3 });
  });

  it('writes an unversioned id given twice in a batch once, the later one, counting neither as stale', async () => {
    // Prepare
    const dynamodb = new ScriptedDynamoDb(() => ({}));
    const later = item('a', { [PIPELINE]: { M: { sequenceNumber: { S: `${SEQ.slice(0, -1)}9` } } } });

    // Act
    const result = await writer(dynamodb).putNewer([unversioned('a'), later], PIPELINE);

    // Assess
    expect(inputs(dynamodb).map((input) => input.Item)).toEqual([later]);
    expect(result).toEqual({ rejected: [], stale: 0 });
  });
});
