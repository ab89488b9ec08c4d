import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import {
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { AwsClients, type AwsRequestEvent, isTransientAwsError } from '@records/aws-clients';
import { afterEach, describe, expect, inject, it } from 'vitest';

const { endpoints } = inject('emulators');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'eu-west-1';

/**
 * A table keyed by `id`, as the pipeline's record table is, once it is ACTIVE: dynalite answers
 * CreateTable while the table is still CREATING, and a put then fails ResourceNotFoundException.
 */
async function createTable(dynamodb: ReturnType<AwsClients['dynamodb']>, TableName: string) {
  await dynamodb.send(
    new CreateTableCommand({
      TableName,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30, minDelay: 0.1, maxDelay: 1 }, { TableName });
}

/** A one-shard stream, once it is ACTIVE. */
async function createStream(kinesis: ReturnType<AwsClients['kinesis']>, StreamName: string) {
  await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
  await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30, minDelay: 0.1, maxDelay: 1 }, { StreamName });
}

/** Counts the calls that go through the SDK client's middleware stack. */
function countSdkCalls(client: { middlewareStack: { add: (...args: never[]) => void } }) {
  const seen: string[] = [];
  (client.middlewareStack.add as (middleware: unknown, options: unknown) => void)(
    (next: (args: unknown) => unknown, context: { commandName?: string }) => (args: unknown) => {
      seen.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize', name: 'countSdkCalls' },
  );
  return seen;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A plain HTTP server on the loopback: answers as `answer` says, or holds every request open. */
async function httpServer(
  answer?: (headers: Record<string, string>) => { status: number; headers: Record<string, string>; body: string },
) {
  const sockets: Socket[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (answer === undefined) return;
      const { status, headers, body } = answer(request.headers as Record<string, string>);
      response.writeHead(status, headers).end(body);
    });
  });
  server.on('connection', (socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

describe('Class: AwsClients, the lean path of the calls made per record', () => {
  it('puts and reads records outside the SDK middleware, byte for byte and with their arrival times', async () => {
    // Prepare
    const events: AwsRequestEvent[] = [];
    const clients = new AwsClients({
      credentials,
      endpoints: { kinesis: endpoints.kinesis! },
      observer: (event) => events.push(event),
    });
    const kinesis = clients.kinesis(region);
    const StreamName = `lean-${randomUUID()}`;
    await createStream(kinesis, StreamName);
    const throughSdk = countSdkCalls(kinesis);
    const every = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
    const records = [
      every,
      Buffer.from('{"n":12345678901234567890123456789012345678}'),
      new Uint8Array(every.subarray(10, 20)),
    ];

    // Act
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName,
        Records: records.map((Data, index) => ({ Data, PartitionKey: `key-${index}` })),
      }),
    );
    const shards = await kinesis.send(new ListShardsCommand({ StreamName }));
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName,
        ShardId: shards.Shards?.[0]?.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const read = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    clients.destroy();

    // Assess
    expect(put.FailedRecordCount).toBe(0);
    // kinesis-mock answers "ErrorCode": null; the SDK reads a null member as absent, and so does this path.
    expect(Object.keys(put.Records?.[0] ?? {}).sort()).toEqual(['SequenceNumber', 'ShardId']);
    expect(put.$metadata.httpStatusCode).toBe(200);
    expect(put.Records?.map((record) => record.ShardId)).toEqual(Array(3).fill(shards.Shards?.[0]?.ShardId));
    expect(put.Records?.map((record) => record.SequenceNumber)).toEqual(
      read.Records?.map((record) => record.SequenceNumber),
    );
    expect(read.Records?.map((record) => Buffer.from(record.Data ?? []).toString('hex'))).toEqual(
      records.map((data) => Buffer.from(data).toString('hex')),
    );
    expect(read.Records).toHaveLength(records.length);
    expect(read.Records?.every((record) => record.ApproximateArrivalTimestamp instanceof Date)).toBe(true);
    expect(read.Records?.[0]?.ApproximateArrivalTimestamp?.getTime()).toBeGreaterThan(Date.UTC(2024, 0, 1));
    expect(read.Records?.[0]?.Data).toBeInstanceOf(Uint8Array);
    expect(typeof read.NextShardIterator).toBe('string');
    expect(throughSdk).toEqual(['ListShardsCommand', 'GetShardIteratorCommand']);
    expect(events.filter((event) => event.operation === 'PutRecords' || event.operation === 'GetRecords')).toEqual([
      expect.objectContaining({ service: 'kinesis', operation: 'PutRecords', region, outcome: 'success' }),
      expect.objectContaining({ service: 'kinesis', operation: 'GetRecords', region, outcome: 'success' }),
    ]);
  });

  it('writes conditional PutItems outside the SDK middleware, and a failed condition comes back as the SDK names it', async () => {
    // Prepare
    const events: AwsRequestEvent[] = [];
    const clients = new AwsClients({
      credentials,
      endpoints: { dynamodb: endpoints.dynamodb! },
      observer: (event) => events.push(event),
    });
    const dynamodb = clients.dynamodb(region);
    const TableName = `lean-${randomUUID()}`;
    await createTable(dynamodb, TableName);
    const throughSdk = countSdkCalls(dynamodb);
    const Item = {
      id: { S: 'r-1' },
      n: { N: '12345678901234567890123456789012345678' },
      blob: { B: Buffer.from([0, 1, 2, 250, 255]) },
      text: { S: 'naïve 🚀' },
    };
    const onlyNew = { ConditionExpression: 'attribute_not_exists(id)' };

    // Act
    await dynamodb.send(new PutItemCommand({ TableName, Item, ...onlyNew }));
    const second = await dynamodb.send(new PutItemCommand({ TableName, Item, ...onlyNew })).catch((error) => error);
    const invalid = await dynamodb
      .send(new PutItemCommand({ TableName, Item: { id: { S: '' } } }))
      .catch((error) => error);
    const back = await dynamodb.send(new GetItemCommand({ TableName, Key: { id: { S: 'r-1' } } }));
    await dynamodb.send(
      new UpdateItemCommand({
        TableName,
        Key: { id: { S: 'r-1' } },
        UpdateExpression: 'SET #t = :t',
        ExpressionAttributeNames: { '#t': 'text' },
        ExpressionAttributeValues: { ':t': { S: 'changed' } },
      }),
    );
    clients.destroy();

    // Assess
    expect(second).toMatchObject({ name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } });
    expect(isTransientAwsError(second)).toBe(false);
    expect(invalid).toMatchObject({ name: 'ValidationException', $fault: 'client' });
    expect(isTransientAwsError(invalid)).toBe(false);
    expect(back.Item?.n).toEqual(Item.n);
    expect(back.Item?.text).toEqual(Item.text);
    expect(Buffer.from(back.Item?.blob?.B ?? []).toString('hex')).toBe('000102faff');
    expect(throughSdk).toEqual(['GetItemCommand', 'UpdateItemCommand']);
    expect(events.filter((event) => event.operation === 'PutItem').map((event) => event.errorName ?? 'ok')).toEqual([
      'ok',
      'ConditionalCheckFailedException',
      'ValidationException',
    ]);
  });

  it('sends every call through the SDK middleware when leanCalls is false (AWS_LEAN_CALLS=false)', async () => {
    // Prepare
    const clients = new AwsClients({ credentials, endpoints: { kinesis: endpoints.kinesis! }, leanCalls: false });
    const kinesis = clients.kinesis(region);
    const StreamName = `sdk-${randomUUID()}`;
    await createStream(kinesis, StreamName);
    const throughSdk = countSdkCalls(kinesis);

    // Act
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName, Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] }),
    );
    clients.destroy();

    // Assess
    expect(put.FailedRecordCount).toBe(0);
    expect(throughSdk).toEqual(['PutRecordsCommand']);
  });

  it('keeps a PutItem that asks for the old item on the SDK, which converts its binary values', async () => {
    // Prepare
    const clients = new AwsClients({ credentials, endpoints: { dynamodb: endpoints.dynamodb! } });
    const dynamodb = clients.dynamodb(region);
    const TableName = `lean-${randomUUID()}`;
    await createTable(dynamodb, TableName);
    const throughSdk = countSdkCalls(dynamodb);
    const Item = { id: { S: 'r-1' }, blob: { B: Buffer.from([7, 8, 9]) } };

    // Act
    await dynamodb.send(new PutItemCommand({ TableName, Item }));
    const old = await dynamodb.send(new PutItemCommand({ TableName, Item, ReturnValues: 'ALL_OLD' }));
    clients.destroy();

    // Assess
    expect(old.Attributes?.blob?.B).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(old.Attributes?.blob?.B ?? []).toString('hex')).toBe('070809');
    expect(throughSdk).toEqual(['PutItemCommand']);
  });

  it('takes the endpoint from AWS_ENDPOINT_URL_KINESIS when none is given, as the SDK does', async () => {
    // Prepare
    const { endpoint } = await httpServer(() => ({
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({
        FailedRecordCount: 0,
        Records: [{ ShardId: 'shardId-000000000000', SequenceNumber: '1' }],
      }),
    }));
    const previous = process.env.AWS_ENDPOINT_URL_KINESIS;
    process.env.AWS_ENDPOINT_URL_KINESIS = endpoint;
    const clients = new AwsClients({ credentials });

    // Act
    const put = await clients
      .kinesis(region)
      .send(new PutRecordsCommand({ StreamName: 's', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] }))
      .finally(() => {
        if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_KINESIS;
        else process.env.AWS_ENDPOINT_URL_KINESIS = previous;
        clients.destroy();
      });

    // Assess
    expect(put.Records).toEqual([{ ShardId: 'shardId-000000000000', SequenceNumber: '1' }]);
  });

  it('signs with SigV4 for the region and service, and classifies throttling as transient', async () => {
    // Prepare
    const seen: Record<string, string>[] = [];
    const { endpoint } = await httpServer((headers) => {
      seen.push(headers);
      return {
        status: 400,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': 'ProvisionedThroughputExceededException:http://internal.amazon.com/',
        },
        body: JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard' }),
      };
    });
    const clients = new AwsClients({ credentials, endpoints: { kinesis: endpoint } });

    // Act
    const error = await clients
      .kinesis(region)
      .send(new PutRecordsCommand({ StreamName: 's', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] }))
      .catch((failure) => failure);
    clients.destroy();

    // Assess
    expect(error).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      message: 'Rate exceeded for shard',
      $metadata: { httpStatusCode: 400 },
    });
    expect(isTransientAwsError(error)).toBe(true);
    expect(seen[0]?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/eu-west-1\/kinesis\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(seen[0]?.['x-amz-target']).toBe('Kinesis_20131202.PutRecords');
  });

  it("reads an answer that is not the service's JSON by its status: a proxy's 502 and a cut-off 200 are transient, a 403 page is not", async () => {
    // Prepare
    const pages = [
      { status: 502, body: '<html>Bad Gateway</html>' },
      { status: 200, body: '{"FailedRecordCount":0,"Rec' },
      { status: 403, body: '<html>Forbidden</html>' },
    ];
    const { endpoint } = await httpServer(() => {
      const { status, body } = pages.shift() as { status: number; body: string };
      return { status, headers: { 'content-type': 'text/html' }, body };
    });
    // One attempt per call, as the services configure the clients whose callers retry.
    const clients = new AwsClients({ credentials, endpoints: { kinesis: endpoint }, maxAttempts: 1 });
    const put = () =>
      clients
        .kinesis(region)
        .send(new PutRecordsCommand({ StreamName: 's', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] }))
        .catch((error) => error);

    // Act
    const answers = [await put(), await put(), await put()];
    clients.destroy();

    // Assess
    expect(answers.map((error) => [error.name, error.$metadata?.httpStatusCode, isTransientAwsError(error)])).toEqual([
      ['UnparseableResponse', 502, true],
      ['UnparseableResponse', 200, true],
      ['UnparseableResponse', 403, false],
    ]);
  });

  it('gives up on a silent endpoint at the request timeout, and at once when the caller aborts, both transient', async () => {
    // Prepare
    const silent = await httpServer();
    const events: AwsRequestEvent[] = [];
    const timed = new AwsClients({
      credentials,
      endpoints: { kinesis: silent.endpoint, dynamodb: silent.endpoint },
      requestTimeoutMs: 200,
      maxAttempts: 1,
      observer: (event) => events.push(event),
    });
    const controller = new AbortController();
    const put = () =>
      new PutRecordsCommand({ StreamName: 's', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] });

    // Act
    const timedOut = await timed
      .dynamodb(region)
      .send(new PutItemCommand({ TableName: 't', Item: { id: { S: 'x' } } }))
      .catch((error) => error);
    const pending = timed
      .kinesis(region)
      .send(put(), { abortSignal: controller.signal })
      .catch((error) => error);
    while (silent.sockets.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const aborted = await pending;
    timed.destroy();

    // Assess
    expect(timedOut.name).toBe('TimeoutError');
    expect(isTransientAwsError(timedOut)).toBe(true);
    expect(aborted.name).toBe('AbortError');
    expect(events.map((event) => [event.operation, event.outcome, event.transient])).toEqual([
      ['PutItem', 'error', true],
      ['PutRecords', 'error', true],
    ]);
  });

  it("tries a connection reset again as often as the client's maxAttempts, as the SDK does, and once when it is 1", async () => {
    // Prepare: a relay to dynalite that cuts the first connection as its request arrives, as a
    // server closing a keep-alive connection the client has just reused does
    let connections = 0;
    const relay = createTcpServer((socket) => {
      connections += 1;
      if (connections === 1) {
        socket.once('data', () => socket.destroy());
        return;
      }
      const upstream = new URL(endpoints.dynamodb?.[region] as string);
      const onward = connect(Number(upstream.port), upstream.hostname);
      socket.pipe(onward).pipe(socket);
      socket.on('error', () => onward.destroy());
      onward.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const through = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    const direct = new AwsClients({ credentials, endpoints: { dynamodb: endpoints.dynamodb! } });
    const TableName = `lean-${randomUUID()}`;
    await createTable(direct.dynamodb(region), TableName);
    const events: AwsRequestEvent[] = [];
    const observer = (event: AwsRequestEvent) => events.push(event);
    const retried = new AwsClients({ credentials, endpoints: { dynamodb: through }, observer });
    const single = new AwsClients({ credentials, endpoints: { dynamodb: through }, maxAttempts: 1 });
    const put = (clients: AwsClients, id: string) =>
      clients
        .dynamodb(region)
        .send(new PutItemCommand({ TableName, Item: { id: { S: id } } }))
        .then(
          () => 'stored',
          (error: Error) => error.name,
        );

    // Act
    const withRetries = await put(retried, 'with-retries');
    const cutAgain = connections;
    connections = 0;
    const withOne = await put(single, 'with-one');
    const stored = await Promise.all(
      ['with-retries', 'with-one'].map(async (id) =>
        direct.dynamodb(region).send(new GetItemCommand({ TableName, Key: { id: { S: id } } })),
      ),
    );
    for (const clients of [direct, retried, single]) clients.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));

    // Assess
    expect(withRetries).toBe('stored');
    expect(cutAgain).toBe(2);
    expect(events.map((event) => [event.operation, event.outcome, event.transient])).toEqual([
      ['PutItem', 'error', true],
      ['PutItem', 'success', undefined],
    ]);
    expect(withOne).toBe('TimeoutError');
    expect(stored.map((answer) => answer.Item?.id?.S)).toEqual(['with-retries', undefined]);
  });
});
