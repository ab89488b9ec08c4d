import { randomUUID } from 'node:crypto';
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy } from '@aws-crypto/client-node';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { marshall } from '@aws-sdk/util-dynamodb';
import { regionKeyring, resolveWrappingKeys } from '@records/envelope';
import { RECORD_VERSION_PATTERN } from '@records/record-item';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';
import { startProducerProcess } from '../support/producer-process.js';

warnIfKmsMissing('the legacy messages suite');

const LEGACY_SUITE = 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384';
const CURRENT_SUITE = 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384';

/** Encrypts as the documentation's example on the Encryption SDK 1.x does: no key commitment, suite 0x0378. */
function legacyEncrypt(fixture: PipelineFixture, record: object): Promise<Uint8Array> {
  return fixture.encryptAs(record, {
    suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    policy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
    context: { stream: fixture.streamName },
  });
}

describe.skipIf(kmsMissing)('Function: createPoller, with messages from producers on the old Encryption SDK', () => {
  const region = regions[1] as string;
  let fixture: PipelineFixture | undefined;
  let consumer: ConsumerHarness | undefined;

  afterEach(async () => {
    await consumer?.stop();
    fixture?.close();
    consumer = undefined;
    fixture = undefined;
  });

  async function deliver(env: Record<string, string>) {
    fixture = await createPipelineFixture({ shardCount: 1 });
    const legacy = { id: `legacy-${randomUUID()}`, from: 'the example', n: 1 };
    const current = { id: `current-${randomUUID()}`, from: 'our producer', n: 2 };
    const legacyPut = await fixture.put(region, 0, await legacyEncrypt(fixture, legacy));
    await fixture.put(region, 0, await fixture.encrypt(current));
    consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint(), env });
    const harness = consumer;
    harness.poller.start();
    const value = (name: string, labels: Record<string, string> = {}) =>
      metricValue(harness.registry, name, { region, ...labels });
    await eventually('both records written or dead-lettered', async () =>
      (await value('consumer_records_written_total')) + (await value('consumer_records_dead_lettered_total')) >= 2
        ? true
        : undefined,
    );
    return { fixture, legacy, current, legacyPut, value };
  }

  it('dead-letters a legacy message as DECRYPT_FAILED under the default policy, and stores the current one', async () => {
    // Act
    const { fixture, legacy, current, legacyPut, value } = await deliver({});

    // Assess
    expect(await fixture.storedRecord(region, current.id)).toEqual(current);
    expect(await fixture.storedRecord(region, legacy.id)).toBeUndefined();
    const letter = await fixture.item(
      region,
      fixture.deadLetterTableName,
      `${legacyPut.shardId}:${legacyPut.sequenceNumber}`,
    );
    expect(letter?.reason).toEqual({ S: 'DECRYPT_FAILED' });
    expect(letter?.message?.S).toContain('CommitmentPolicy');
    expect(await value('consumer_messages_decrypted_total', { algorithm_suite: CURRENT_SUITE })).toBe(1);
    expect(await value('consumer_messages_decrypted_total', { algorithm_suite: LEGACY_SUITE })).toBe(0);
  });

  it('stores a legacy message under require-encrypt-allow-decrypt and counts it by its suite', async () => {
    // Act
    const { fixture, legacy, current, value } = await deliver({
      DECRYPT_COMMITMENT_POLICY: 'require-encrypt-allow-decrypt',
    });

    // Assess
    expect(await fixture.storedRecord(region, legacy.id)).toEqual(legacy);
    expect(await fixture.storedRecord(region, current.id)).toEqual(current);
    expect(await fixture.count(region, fixture.deadLetterTableName)).toBe(0);
    expect(await value('consumer_messages_decrypted_total', { algorithm_suite: LEGACY_SUITE })).toBe(1);
    expect(await value('consumer_messages_decrypted_total', { algorithm_suite: CURRENT_SUITE })).toBe(1);
  });
});

describe.skipIf(kmsMissing)("The documentation's example Lambda, reading what our producer writes", () => {
  const region = regions[1] as string;
  let fixture: PipelineFixture | undefined;

  afterEach(() => {
    fixture?.close();
    fixture = undefined;
  });

  it('decrypts a record our producer wrote to JSON it stores as the item, with _pipeline.version a string', async () => {
    // Prepare: our producer, as a process, posts a record.
    fixture = await createPipelineFixture({ shardCount: 1 });
    const producer = await startProducerProcess(fixture);
    const record = { id: `example-${randomUUID()}`, greeting: 'hi', n: 42, tags: ['a', 'b'] };
    const answer = await producer.post(record).finally(() => producer.stop());
    const position = answer.regions?.[region];
    const kinesis = fixture.clients.kinesis(region);
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: fixture.streamName,
        ShardId: position?.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: position?.sequenceNumber,
      }),
    );
    const [message] = (await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }))).Records ?? [];
    const { clients } = fixture;
    const kms = (keyRegion: string) => clients.kms(keyRegion);
    const keys = await resolveWrappingKeys({ settings: { kind: 'kms', alias: fixture.kmsKeyAlias }, regions, kms });

    // Act: what the example's handler does: decrypt with the region's key, parse, put the JSON as the item.
    const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
    const { plaintext } = await decrypt(regionKeyring(keys, region, kms), message?.Data ?? new Uint8Array());
    const parsed = JSON.parse(Buffer.from(plaintext).toString('utf8'));
    const dynamodb = fixture.clients.dynamodb(region);
    await dynamodb.send(new PutItemCommand({ TableName: fixture.tableName, Item: marshall(parsed) }));
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: fixture.tableName, Key: { id: { S: record.id } }, ConsistentRead: true }),
    );

    // Assess
    expect(answer.status).toBe(201);
    expect(parsed).toEqual({ ...record, _pipeline: { version: answer.version } });
    expect(answer.version).toMatch(RECORD_VERSION_PATTERN);
    expect(Item?._pipeline).toEqual({ M: { version: { S: answer.version } } });
    expect(Item?.greeting).toEqual({ S: 'hi' });
  });
});
