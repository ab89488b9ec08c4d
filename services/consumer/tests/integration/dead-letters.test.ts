import { randomBytes, randomUUID } from 'node:crypto';
import { AlgorithmSuiteIdentifier, CommitmentPolicy } from '@aws-crypto/client-node';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createAwsRequestMetrics } from '@records/aws-clients';
import { resolveWrappingKeys } from '@records/envelope';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConsumerConfig } from '../../src/config.js';
import { DeadLetterStore, type StoredDeadLetter } from '../../src/dead-letter-store.js';
import { createRecordPipeline } from '../../src/record-pipeline.js';
import { redriveDeadLetters } from '../../src/redrive.js';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture, type PutResult } from '../support/pipeline-fixture.js';
import { RecordingLogger } from '../support/recording-logger.js';

warnIfKmsMissing('the dead letters and redrive suite');

describe.skipIf(kmsMissing)('Dead letters: kept whole, and redriven through the normal path', () => {
  const region = regions[0] as string;
  let fixture: PipelineFixture | undefined;
  let consumer: ConsumerHarness | undefined;

  afterEach(async () => {
    await consumer?.stop();
    fixture?.close();
    consumer = undefined;
    fixture = undefined;
  });

  /** The redrive as `pnpm redrive` wires it, with the consumer's configuration plus `env`. */
  async function redrive(pipeline: PipelineFixture, env: Record<string, string>, reasons?: string[]) {
    const config = loadConsumerConfig({
      REGION: region,
      STREAM_NAME: pipeline.streamName,
      TABLE_NAME: pipeline.tableName,
      DEAD_LETTER_TABLE_NAME: pipeline.deadLetterTableName,
      KMS_KEY_ALIAS: pipeline.kmsKeyAlias,
      ...env,
    });
    const registry = new Registry();
    createAwsRequestMetrics(registry);
    const kms = (keyRegion: string) => pipeline.clients.kms(keyRegion);
    const keys = await resolveWrappingKeys({ settings: config.pipeline.wrappingKeys, regions: [region], kms });
    const logger = new RecordingLogger();
    const records = createRecordPipeline({ config, clients: pipeline.clients, keys, registry, logger });
    const summary = await redriveDeadLetters(
      {
        store: new DeadLetterStore(pipeline.clients.dynamodb(region), pipeline.deadLetterTableName),
        processorFor: (stream) => records.processorFor(stream),
        logger,
      },
      reasons === undefined ? {} : { reasons },
    );
    records.close();
    return summary;
  }

  async function deadLetters(pipeline: PipelineFixture): Promise<StoredDeadLetter[]> {
    const found: StoredDeadLetter[] = [];
    for await (const letter of new DeadLetterStore(
      pipeline.clients.dynamodb(region),
      pipeline.deadLetterTableName,
    ).find()) {
      found.push(letter);
    }
    return found.sort((a, b) => a.id.localeCompare(b.id));
  }

  it('keeps a 900 KB poison record and a 60 KB context mismatch whole, keeps the shard flowing, and redrives what a fix allows', async () => {
    // Prepare: on one shard, in this order
    fixture = await createPipelineFixture({ shardCount: 1 });
    const legacy = { id: `legacy-${randomUUID()}`, note: 'from a producer on the Encryption SDK 1.x' };
    const after = { id: `after-${randomUUID()}`, note: 'behind the dead letters' };
    const puts: Record<string, PutResult> = {
      poison: await fixture.put(region, 0, new Uint8Array(randomBytes(900 * 1024))),
      mismatch: await fixture.put(
        region,
        0,
        await fixture.encryptAs(
          { id: 'm' },
          {
            suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
            policy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
            context: { stream: fixture.streamName, tenant: 't'.repeat(60_000) },
          },
        ),
      ),
      legacy: await fixture.put(
        region,
        0,
        await fixture.encryptAs(legacy, {
          suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
          policy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
          context: { stream: fixture.streamName },
        }),
      ),
      after: await fixture.put(region, 0, await fixture.encrypt(after)),
    };
    consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
    const harness = consumer;

    // Act
    harness.poller.start();
    await eventually('every record written or dead-lettered', async () => {
      const done =
        (await metricValue(harness.registry, 'consumer_records_written_total', { region })) +
        (await metricValue(harness.registry, 'consumer_records_dead_lettered_total', { region }));
      return done >= 4 ? true : undefined;
    });
    await harness.stop();
    const before = await deadLetters(fixture);
    const first = await redrive(fixture, { DECRYPT_COMMITMENT_POLICY: 'require-encrypt-allow-decrypt' });
    const between = await deadLetters(fixture);
    const second = await redrive(fixture, { DECRYPT_COMMITMENT_POLICY: 'require-encrypt-allow-decrypt' });
    const last = await deadLetters(fixture);

    // Assess: the shard flowed past three dead letters
    expect(await fixture.storedRecord(region, after.id)).toEqual(after);
    expect(before.map(({ reason, sequenceNumber }) => [sequenceNumber, reason]).sort()).toEqual(
      [
        [puts.poison?.sequenceNumber, 'DECRYPT_FAILED'],
        [puts.mismatch?.sequenceNumber, 'CONTEXT_MISMATCH'],
        [puts.legacy?.sequenceNumber, 'DECRYPT_FAILED'],
      ].sort(),
    );
    // Kept whole: the 900 KB ciphertext in parts, the mismatch with its context, messages cut short
    for (const letter of before) {
      const put = Object.values(puts).find((candidate) => candidate.sequenceNumber === letter.sequenceNumber);
      expect(Buffer.from(letter.ciphertext).equals(Buffer.from(put?.data ?? []))).toBe(true);
    }
    expect(before.find((letter) => letter.sequenceNumber === puts.poison?.sequenceNumber)?.partIds).toHaveLength(3);
    const mismatch = await fixture.item(
      region,
      fixture.deadLetterTableName,
      `${puts.mismatch?.shardId}:${puts.mismatch?.sequenceNumber}`,
    );
    expect(mismatch?.message?.S?.length).toBeLessThan(1200);
    // The first redrive stores what the new policy allows, and removes its dead letter
    expect(first).toEqual({ tried: 3, stored: 1, deadLetteredAgain: 2 });
    expect(await fixture.storedRecord(region, legacy.id)).toEqual(legacy);
    expect(between.map((letter) => letter.sequenceNumber).sort()).toEqual(
      [puts.poison?.sequenceNumber, puts.mismatch?.sequenceNumber].sort(),
    );
    // The second changes nothing
    expect(second).toEqual({ tried: 2, stored: 0, deadLetteredAgain: 2 });
    expect(last.map(({ id, reason, ciphertext }) => [id, reason, Buffer.from(ciphertext).toString('base64')])).toEqual(
      between.map(({ id, reason, ciphertext }) => [id, reason, Buffer.from(ciphertext).toString('base64')]),
    );
    expect(await fixture.count(region, fixture.tableName)).toBe(2);
  });

  it('redrives only the reasons it is asked for', async () => {
    // Prepare
    fixture = await createPipelineFixture({ shardCount: 1 });
    const missing = { note: 'no id' };
    await fixture.put(region, 0, await fixture.encrypt(missing));
    await fixture.put(region, 0, new Uint8Array(randomBytes(64)));
    consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
    const harness = consumer;
    harness.poller.start();
    await eventually('both dead-lettered', async () =>
      (await metricValue(harness.registry, 'consumer_records_dead_lettered_total', { region })) >= 2 ? true : undefined,
    );

    // Act
    const summary = await redrive(fixture, {}, ['MISSING_ID']);

    // Assess
    expect(summary).toEqual({ tried: 1, stored: 0, deadLetteredAgain: 1 });
    expect((await deadLetters(fixture)).map((letter) => letter.reason).sort()).toEqual([
      'DECRYPT_FAILED',
      'MISSING_ID',
    ]);
  });

  it('dead-letters a decrypted record that is not JSON with a stable code and its position, quoting none of its text', async () => {
    // Prepare: decryptable records whose plaintext the parser would quote (a character, a key, a number)
    fixture = await createPipelineFixture({ shardCount: 1 });
    const secrets = ['nope-hunter2', '{"id":"d","hunter2":1,"hunter2":2}', '{"id":"n","pin":12hunter2}'];
    for (const text of secrets) await fixture.put(region, 0, await fixture.encryptText(text));
    consumer = await createConsumerHarness({ pipeline: fixture, region, kmsEndpoint: motoEndpoint() });
    const harness = consumer;

    // Act
    harness.poller.start();
    await eventually('all three dead-lettered', async () =>
      (await metricValue(harness.registry, 'consumer_records_dead_lettered_total', { region })) >= 3 ? true : undefined,
    );
    const { Items = [] } = await fixture.clients
      .dynamodb(region)
      .send(new ScanCommand({ TableName: fixture.deadLetterTableName, ConsistentRead: true }));
    const letters = Items.map((item) => unmarshall(item)).map(({ ciphertext: _, ...rest }) => rest);

    // Assess: neither the dead letters (but for their ciphertext) nor the logs quote the plaintext
    expect(letters.map((letter) => [letter.reason, letter.message]).sort()).toEqual([
      [
        'INVALID_PAYLOAD',
        'INVALID_JSON: the decrypted record is not valid JSON: a key is given twice with different values at character 23',
      ],
      ['INVALID_PAYLOAD', 'INVALID_JSON: the decrypted record is not valid JSON: unexpected text at character 0'],
      ['INVALID_PAYLOAD', 'INVALID_JSON: the decrypted record is not valid JSON: unexpected text at character 18'],
    ]);
    const written = `${JSON.stringify(letters)}\n${harness.logger.text()}`;
    for (const fragment of ['hunter2', "'n'", 'nope', 'pin']) expect(written).not.toContain(fragment);
  });
});
