import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { ensureTable } from '@records/provisioning';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Item, TableWriter } from '../../src/table-writer.js';
import { credentials, dynamodbEndpoints, regions } from '../support/emulators.js';

const region = regions[0] as string;
const PIPELINE = '_pipeline';

/** An item as the consumer writes it from a versioned record: its version beside its position. */
function versioned(id: string, label: string, recordVersion: string, sequenceNumber = EARLY): Item {
  const written = item(id, label, sequenceNumber);
  const pipeline = written[PIPELINE]?.M ?? {};
  return { ...written, [PIPELINE]: { M: { ...pipeline, version: { S: recordVersion } } } };
}

const V1 = '000001764790000000-000000-a1b2c3d4';
const V2 = '000001764790000000-000001-0000000a';
const V3 = '000001764790000001-000000-0000000a';

/** An item as the consumer writes it: the record, and its position in the stream. */
function item(id: string, version: string, sequenceNumber: string): Item {
  return {
    id: { S: id },
    version: { S: version },
    [PIPELINE]: { M: { shardId: { S: 'shardId-000000000000' }, sequenceNumber: { S: sequenceNumber } } },
  };
}

// Real Kinesis sequence numbers: 56 digits, more than a DynamoDB number holds (38).
const EARLY = '49680796223196908670573189823894359086809174730086547458';
const LATER = '49680796223598322084146741040442002015716845237194194978';
// One digit longer is larger, though it sorts first as text.
const LONGER = '100000000000000000000000000000000000000000000000000000000';

describe('Method: TableWriter.putNewer, against dynalite', () => {
  const table = `guarded-${randomUUID()}`;
  const clients = new AwsClients({ credentials, endpoints: { dynamodb: dynamodbEndpoints() } });
  const dynamodb = clients.dynamodb(region);
  const writer = new TableWriter({ dynamodb, tableName: table });
  const stored = async (id: string) =>
    (await dynamodb.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }))).Item
      ?.version?.S;

  beforeAll(async () => {
    await ensureTable(dynamodb, table);
  });
  afterAll(() => clients.destroy());

  it('writes a later record over an earlier one, comparing sequence numbers as integers', async () => {
    // Prepare
    const id = `later-${randomUUID()}`;
    await writer.putNewer([item(id, 'early', EARLY)], PIPELINE);

    // Act
    const later = await writer.putNewer([item(id, 'later', LATER)], PIPELINE);
    const longer = await writer.putNewer([item(id, 'longer', LONGER)], PIPELINE);

    // Assess
    expect([later.stale, longer.stale]).toEqual([0, 0]);
    expect(await stored(id)).toBe('longer');
  });

  it('skips and counts an earlier record, or the same one again, and leaves the table as it was', async () => {
    // Prepare
    const id = `stale-${randomUUID()}`;
    await writer.putNewer([item(id, 'later', LATER)], PIPELINE);

    // Act
    const earlier = await writer.putNewer([item(id, 'early', EARLY)], PIPELINE);
    const again = await writer.putNewer([item(id, 'later again', LATER)], PIPELINE);

    // Assess
    expect(earlier).toEqual({ rejected: [], stale: 1 });
    expect(again).toEqual({ rejected: [], stale: 1 });
    expect(await stored(id)).toBe('later');
  });

  it('writes over an item written before positions were kept', async () => {
    // Prepare
    const id = `legacy-${randomUUID()}`;
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { id: { S: id }, version: { S: 'legacy' } } }));

    // Act
    const result = await writer.putNewer([item(id, 'new', EARLY)], PIPELINE);

    // Assess
    expect(result.stale).toBe(0);
    expect(await stored(id)).toBe('new');
  });

  it('writes a versioned record over an unversioned item, whatever their stream positions', async () => {
    // Prepare
    const id = `over-unversioned-${randomUUID()}`;
    await writer.putNewer([item(id, 'unversioned', LONGER)], PIPELINE);

    // Act
    const result = await writer.putNewer([versioned(id, 'versioned', V1, EARLY)], PIPELINE);

    // Assess
    expect(result).toEqual({ rejected: [], stale: 0 });
    expect(await stored(id)).toBe('versioned');
  });

  it('skips and counts an older version, or the same one again, even later in the stream', async () => {
    // Prepare
    const id = `older-version-${randomUUID()}`;
    await writer.putNewer([versioned(id, 'v2', V2, EARLY)], PIPELINE);

    // Act
    const older = await writer.putNewer([versioned(id, 'v1', V1, LONGER)], PIPELINE);
    const same = await writer.putNewer([versioned(id, 'v2 again', V2, LONGER)], PIPELINE);
    const newer = await writer.putNewer([versioned(id, 'v3', V3, EARLY)], PIPELINE);

    // Assess
    expect([older.stale, same.stale, newer.stale]).toEqual([1, 1, 0]);
    expect(await stored(id)).toBe('v3');
  });

  it('writes a versioned record over a legacy item that has no pipeline attribute at all', async () => {
    // Prepare: as the documentation's example Lambda stores a record.
    const id = `example-lambda-${randomUUID()}`;
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { id: { S: id }, version: { S: 'legacy' } } }));

    // Act
    const result = await writer.putNewer([versioned(id, 'versioned', V1)], PIPELINE);

    // Assess
    expect(result.stale).toBe(0);
    expect(await stored(id)).toBe('versioned');
  });

  it('never writes an unversioned record over a versioned item, however late in the stream', async () => {
    // Prepare
    const id = `unversioned-late-${randomUUID()}`;
    await writer.putNewer([versioned(id, 'versioned', V1, EARLY)], PIPELINE);

    // Act
    const result = await writer.putNewer([item(id, 'unversioned', LONGER)], PIPELINE);

    // Assess
    expect(result).toEqual({ rejected: [], stale: 1 });
    expect(await stored(id)).toBe('versioned');
  });
});
