import type { _Record } from '@aws-sdk/client-kinesis';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { KmsUnavailableError } from '@records/data-key-cache';
import { ContextMismatchError, DecryptFailedError } from '@records/envelope';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../src/dead-letter-sink.js';
import { TransientProcessingError } from '../../src/errors.js';
import { createConsumerMetrics } from '../../src/metrics.js';
import { createRecordProcessor } from '../../src/record-processor.js';
import type { Item, RejectedItem } from '../../src/table-writer.js';
import { metricValue } from '../support/metric-values.js';
import { RecordingLogger } from '../support/recording-logger.js';

const REGION = 'eu-west-1';
const STREAM = 'records';
const SHARD = 'shardId-000000000001';
const ARRIVED = new Date('2024-05-01T12:00:00.000Z');
const PIPELINE = '_pipeline';

/** What the fake decryptor does with a ciphertext: return this plaintext, or throw this error. */
type Script = Readonly<Record<string, string | Error>>;

function kinesisRecord(ciphertext: string, sequence: number): _Record {
  return {
    Data: new Uint8Array(Buffer.from(ciphertext)),
    SequenceNumber: String(49_000_000_000 + sequence),
    PartitionKey: `key-${sequence}`,
    ApproximateArrivalTimestamp: ARRIVED,
  };
}

function batch(...ciphertexts: string[]): _Record[] {
  return ciphertexts.map((ciphertext, index) => kinesisRecord(ciphertext, index));
}

function harness(
  script: Script,
  options: {
    reject?: (item: Item) => string | undefined;
    /** Items the table already holds a newer version of: skipped by its guard, counted as stale. */
    stale?: (item: Item) => boolean;
    decryptConcurrency?: number;
  } = {},
) {
  const registry = new Registry();
  const logger = new RecordingLogger();
  const plaintexts: Uint8Array[] = [];
  const putAllCalls: Item[][] = [];
  const deadLettered: DeadLetter[] = [];
  const expectedStreams = new Set<string>();
  let inFlight = 0;
  let maxInFlight = 0;
  const processBatch = createRecordProcessor({
    region: REGION,
    streamName: STREAM,
    pipelineAttribute: PIPELINE,
    decryptor: {
      async decrypt(ciphertext: Uint8Array, expectedStream: string) {
        expectedStreams.add(expectedStream);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await Promise.resolve();
        inFlight--;
        const entry = script[Buffer.from(ciphertext).toString()];
        if (entry === undefined) throw new Error('the test script has no such ciphertext');
        if (entry instanceof Error) throw entry;
        const plaintext = new Uint8Array(Buffer.from(entry));
        plaintexts.push(plaintext);
        return { plaintext, suite: 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384' };
      },
    },
    table: {
      async putNewer(items: readonly Item[]): Promise<{ rejected: RejectedItem[]; stale: number }> {
        putAllCalls.push([...items]);
        const rejected = items.flatMap((item) => {
          const reason = options.reject?.(item);
          return reason === undefined ? [] : [{ item, reason }];
        });
        return { rejected, stale: items.filter((item) => options.stale?.(item) === true).length };
      },
    },
    deadLetters: {
      async put(letters: readonly DeadLetter[]) {
        deadLettered.push(...letters);
      },
    },
    metrics: createConsumerMetrics(registry, REGION),
    decryptConcurrency: options.decryptConcurrency ?? 16,
    logger,
  });
  // The record's own attributes, as a reader of the table sees them without the pipeline's.
  const written = () =>
    putAllCalls.flat().map((item) => {
      const { [PIPELINE]: _pipeline, ...record } = item;
      return unmarshall(record);
    });
  return {
    processBatch,
    registry,
    logger,
    plaintexts,
    putAllCalls,
    deadLettered,
    expectedStreams,
    written,
    maxInFlight: () => maxInFlight,
  };
}

describe('Function: createRecordProcessor', () => {
  it('throws TransientProcessingError and dead-letters nothing when KMS is unavailable for a record', async () => {
    // Prepare
    const kmsDown = new KmsUnavailableError({ cause: new Error('connect ECONNREFUSED'), retryAfterMs: 100 });
    const { processBatch, putAllCalls, deadLettered, registry } = harness({
      a: '{"id":"a"}',
      b: kmsDown,
      c: '{"id":"c"}',
    });

    // Act
    const outcome = await processBatch(SHARD, batch('a', 'b', 'c')).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(TransientProcessingError);
    expect(outcome).toMatchObject({ code: 'TRANSIENT_FAILURE', cause: kmsDown });
    expect(putAllCalls).toEqual([]);
    expect(deadLettered).toEqual([]);
    expect(await metricValue(registry, 'consumer_records_written_total')).toBe(0);
    expect(await metricValue(registry, 'consumer_records_dead_lettered_total')).toBe(0);
  });

  it('dead-letters the record with reason DECRYPT_FAILED when it cannot be decrypted', async () => {
    // Prepare
    const records = batch('a', 'garbage', 'c');
    const { processBatch, deadLettered, written } = harness({
      a: '{"id":"a"}',
      garbage: new DecryptFailedError('record could not be decrypted: Malformed Header'),
      c: '{"id":"c"}',
    });

    // Act
    await processBatch(SHARD, records);

    // Assess
    expect(deadLettered).toEqual([
      {
        shardId: SHARD,
        record: records[1],
        reason: 'DECRYPT_FAILED',
        message: 'record could not be decrypted: Malformed Header',
      },
    ]);
    expect(written()).toEqual([{ id: 'a' }, { id: 'c' }]);
  });

  it('dead-letters the record with reason CONTEXT_MISMATCH when its signed context names another stream', async () => {
    // Prepare
    const records = batch('foreign', 'b');
    const { processBatch, deadLettered, written, expectedStreams } = harness({
      foreign: new ContextMismatchError(STREAM, 'other-stream'),
      b: '{"id":"b"}',
    });

    // Act
    await processBatch(SHARD, records);

    // Assess
    expect(expectedStreams).toEqual(new Set([STREAM]));
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]).toMatchObject({ shardId: SHARD, record: records[0], reason: 'CONTEXT_MISMATCH' });
    expect(deadLettered[0]?.message).toContain('other-stream');
    expect(written()).toEqual([{ id: 'b' }]);
  });

  it.each([
    ['is not JSON', 'not json at all'],
    ['is a JSON array', '[{"id":"x"}]'],
    ['is a JSON string', '"x"'],
    ['is JSON null', 'null'],
    ['has a numeric id', '{"id":7}'],
    ['has an empty id', '{"id":""}'],
  ])('dead-letters the record with reason INVALID_PAYLOAD when its plaintext %s', async (_case, plaintext) => {
    // Prepare
    const records = batch('bad', 'good');
    const { processBatch, deadLettered, written } = harness({ bad: plaintext, good: '{"id":"good"}' });

    // Act
    await processBatch(SHARD, records);

    // Assess
    expect(deadLettered).toEqual([
      expect.objectContaining({ shardId: SHARD, record: records[0], reason: 'INVALID_PAYLOAD' }),
    ]);
    expect(written()).toEqual([{ id: 'good' }]);
  });

  it.each([
    ['MISSING_ID', 'has no id', '{"name":"x"}'],
    ['RESERVED_ATTRIBUTE', 'uses the pipeline attribute', '{"id":"r","_pipeline":{"stream":"forged"}}'],
    ['ITEM_REJECTED', 'holds a number no table can store', '{"id":"n","x":1e-400}'],
  ])('dead-letters the record with reason %s when its plaintext %s', async (reason, _case, plaintext) => {
    // Prepare
    const records = batch('bad', 'good');
    const { processBatch, deadLettered, written } = harness({ bad: plaintext, good: '{"id":"good"}' });

    // Act
    await processBatch(SHARD, records);

    // Assess
    expect(deadLettered).toEqual([expect.objectContaining({ shardId: SHARD, record: records[0], reason })]);
    expect(written()).toEqual([{ id: 'good' }]);
  });

  it('says what a table cannot store without the attribute names on its path', async () => {
    // Prepare
    const { processBatch, deadLettered } = harness({ bad: '{"id":"n","alice@example.com":{"balance":1e-400}}' });

    // Act
    await processBatch(SHARD, batch('bad'));

    // Assess
    expect(deadLettered).toEqual([
      expect.objectContaining({
        reason: 'ITEM_REJECTED',
        message:
          'RECORD_NOT_STORABLE: a value in the record is outside the storable number range (magnitude 1e-130 to below 1e126)',
      }),
    ]);
  });

  it('writes numbers as the digits they were sent with, and keys named like Object members', async () => {
    // Prepare
    const plaintext =
      '{"id":"n","big":12345678901234567,"d":1.2345678901234567890123456789012345678,"tiny":-1e-130,"constructor":{"__defineGetter__":[9007199254740993]}}';
    const { processBatch, putAllCalls } = harness({ a: plaintext });

    // Act
    await processBatch(SHARD, batch('a'));

    // Assess
    const [item] = putAllCalls.flat();
    expect(item?.big).toEqual({ N: '12345678901234567' });
    expect(item?.d).toEqual({ N: '1.2345678901234567890123456789012345678' });
    expect(item?.tiny).toEqual({ N: '-1e-130' });
    expect(item?.constructor).toEqual({ M: { __defineGetter__: { L: [{ N: '9007199254740993' }] } } });
  });

  it('counts decrypted messages by algorithm suite', async () => {
    // Prepare
    const { processBatch, registry } = harness({ a: '{"id":"a"}', b: '{"id":"b"}' });

    // Act
    await processBatch(SHARD, batch('a', 'b'));

    // Assess
    expect(
      await metricValue(registry, 'consumer_messages_decrypted_total', {
        region: REGION,
        algorithm_suite: 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384',
      }),
    ).toBe(2);
  });

  it('returns items DynamoDB rejects as ITEM_REJECTED dead letters and counts only the rest as written', async () => {
    // Prepare
    const records = batch('a', 'b', 'c');
    const { processBatch, deadLettered, registry } = harness(
      { a: '{"id":"a"}', b: '{"id":"b"}', c: '{"id":"c"}' },
      { reject: (item) => (item.id?.S === 'b' ? 'Item size has exceeded the maximum allowed size' : undefined) },
    );

    // Act
    await processBatch(SHARD, records);

    // Assess
    expect(deadLettered).toEqual([
      {
        shardId: SHARD,
        record: records[1],
        reason: 'ITEM_REJECTED',
        message: 'Item size has exceeded the maximum allowed size',
      },
    ]);
    expect(await metricValue(registry, 'consumer_records_written_total', { region: REGION })).toBe(2);
    expect(
      await metricValue(registry, 'consumer_records_dead_lettered_total', { region: REGION, reason: 'ITEM_REJECTED' }),
    ).toBe(1);
  });

  it('counts writes the table skipped as stale, not as written, and dead-letters none of them', async () => {
    // Prepare: the table holds a newer version of b
    const { processBatch, registry, deadLettered } = harness(
      { a: '{"id":"a"}', b: '{"id":"b"}', c: '{"id":"c"}' },
      { stale: (item) => item.id?.S === 'b' },
    );

    // Act
    const outcome = await processBatch(SHARD, batch('a', 'b', 'c'));

    // Assess: all three are done (b is checkpointed past, as the newer version stands)
    expect(outcome.written).toHaveLength(3);
    expect(outcome.deadLettered).toEqual([]);
    expect(deadLettered).toEqual([]);
    expect(await metricValue(registry, 'consumer_stale_writes_skipped_total', { region: REGION })).toBe(1);
    expect(await metricValue(registry, 'consumer_records_written_total', { region: REGION })).toBe(2);
  });

  it('returns items that are the record, plus one attribute with its stream, region, shard, sequence number and arrival time', async () => {
    // Prepare
    const value = { id: 'order-1', lines: [{ sku: 'A-1', qty: 2 }], paid: false, note: 'héllo ✓', nothing: null };
    const records = batch('a');
    const { processBatch, putAllCalls } = harness({ a: JSON.stringify(value) });

    // Act
    await processBatch(SHARD, records);

    // Assess
    const [item] = putAllCalls.flat();
    const { [PIPELINE]: pipeline, ...record } = item ?? {};
    expect(unmarshall(record)).toEqual(value);
    expect(pipeline).toEqual({
      M: {
        stream: { S: STREAM },
        region: { S: REGION },
        shardId: { S: SHARD },
        sequenceNumber: { S: records[0]?.SequenceNumber },
        arrivedAt: { S: ARRIVED.toISOString() },
      },
    });
  });

  it('moves the written and dead-lettered counters by region and reason', async () => {
    // Prepare
    const { processBatch, registry } = harness({
      a: '{"id":"a"}',
      b: '{"id":"b"}',
      foreign: new ContextMismatchError(STREAM, 'other'),
      broken: new DecryptFailedError('bad'),
      array: '[]',
    });

    // Act
    await processBatch(SHARD, batch('a', 'foreign', 'b', 'broken', 'array'));

    // Assess
    const deadLettered = (reason: string) =>
      metricValue(registry, 'consumer_records_dead_lettered_total', { region: REGION, reason });
    expect(await metricValue(registry, 'consumer_records_written_total', { region: REGION })).toBe(2);
    expect(await deadLettered('CONTEXT_MISMATCH')).toBe(1);
    expect(await deadLettered('DECRYPT_FAILED')).toBe(1);
    expect(await deadLettered('INVALID_PAYLOAD')).toBe(1);
  });

  it('logs every dead letter without any of the plaintext', async () => {
    // Prepare
    const { processBatch, logger } = harness(
      {
        notJson: 'SECRET-1 is not json',
        array: '["SECRET-2"]',
        noId: '{"card":"SECRET-3"}',
        numericId: '{"id":4,"card":"SECRET-4"}',
        rejected: '{"id":"SECRET-5","card":"SECRET-6"}',
        good: '{"id":"SECRET-7","card":"SECRET-8"}',
      },
      { reject: (item) => (item.id?.S === 'SECRET-5' ? 'One or more parameter values were invalid' : undefined) },
    );

    // Act
    await processBatch(SHARD, batch('notJson', 'array', 'noId', 'numericId', 'rejected', 'good'));

    // Assess
    expect(logger.lines.filter((line) => line.message === 'record dead-lettered')).toHaveLength(5);
    expect(
      logger.lines.find((line) => line.message === 'record dead-lettered' && line.details.reason === 'MISSING_ID'),
    ).toBeDefined();
    expect(logger.text()).not.toMatch(/SECRET/);
  });

  it('zeroes every decrypted plaintext when the batch is done', async () => {
    // Prepare
    const { processBatch, plaintexts } = harness({ a: '{"id":"a","pin":"1234"}', b: 'not json', c: '{"x":1}' });

    // Act
    await processBatch(SHARD, batch('a', 'b', 'c'));

    // Assess
    expect(plaintexts).toHaveLength(3);
    expect(plaintexts.every((plaintext) => plaintext.length > 0 && plaintext.every((byte) => byte === 0))).toBe(true);
  });

  it('decrypts no more records at once than decryptConcurrency', async () => {
    // Prepare
    const script = Object.fromEntries(Array.from({ length: 7 }, (_, index) => [`r${index}`, `{"id":"r${index}"}`]));
    const { processBatch, maxInFlight, written } = harness(script, { decryptConcurrency: 3 });

    // Act
    await processBatch(SHARD, batch(...Object.keys(script)));

    // Assess
    expect(maxInFlight()).toBe(3);
    expect(written()).toHaveLength(7);
  });

  describe('the version inside the plaintext', () => {
    const VERSION = '000001764790000000-000007-a1b2c3d4';

    it('takes the version out of the record and stores it in the pipeline attribute', async () => {
      // Prepare
      const { processBatch, putAllCalls, deadLettered } = harness({
        a: JSON.stringify({ id: 'a', n: 1, [PIPELINE]: { version: VERSION } }),
      });

      // Act
      await processBatch(SHARD, batch('a'));

      // Assess
      const [item] = putAllCalls.flat();
      const { [PIPELINE]: pipeline, ...record } = item ?? {};
      expect(unmarshall(record)).toEqual({ id: 'a', n: 1 });
      expect(pipeline?.M?.version).toEqual({ S: VERSION });
      expect(deadLettered).toEqual([]);
    });

    it('stores no version for a record from a producer that gave none', async () => {
      // Prepare
      const { processBatch, putAllCalls } = harness({ a: '{"id":"a"}' });

      // Act
      await processBatch(SHARD, batch('a'));

      // Assess
      expect(putAllCalls.flat()[0]?.[PIPELINE]?.M?.version).toBeUndefined();
    });

    it.each([
      ['a string', '"x"'],
      ['an empty object', '{}'],
      ['a version that is not one', '{"version":"12"}'],
      ['a version that is a number', '{"version":1764790000000}'],
      ['another field beside the version', `{"version":"${VERSION}","sequenceNumber":"1"}`],
    ])('dead-letters RESERVED_ATTRIBUTE when the pipeline attribute holds %s', async (_what, fields) => {
      // Prepare
      const { processBatch, putAllCalls, deadLettered } = harness({ a: `{"id":"a","${PIPELINE}":${fields}}` });

      // Act
      const outcome = await processBatch(SHARD, batch('a'));

      // Assess
      expect(putAllCalls.flat()).toEqual([]);
      expect(deadLettered.map((letter) => letter.reason)).toEqual(['RESERVED_ATTRIBUTE']);
      expect(outcome.deadLettered).toHaveLength(1);
    });

    it('counts a write the table skips as older as stale, not as written, and dead-letters nothing', async () => {
      // Prepare
      const { processBatch, registry, deadLettered } = harness(
        {
          old: JSON.stringify({ id: 'a', [PIPELINE]: { version: VERSION } }),
          fresh: '{"id":"b"}',
        },
        { stale: (item) => item.id?.S === 'a' },
      );

      // Act
      const outcome = await processBatch(SHARD, batch('old', 'fresh'));

      // Assess
      expect(await metricValue(registry, 'consumer_stale_writes_skipped_total', { region: REGION })).toBe(1);
      expect(await metricValue(registry, 'consumer_records_written_total', { region: REGION })).toBe(1);
      expect(deadLettered).toEqual([]);
      expect(outcome).toEqual({
        written: batch('old', 'fresh').map((record) => record.SequenceNumber),
        deadLettered: [],
      });
    });
  });
});
