import { randomUUID } from 'node:crypto';
import { AlgorithmSuiteIdentifier, CommitmentPolicy } from '@aws-crypto/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsumerHarness, createConsumerHarness } from '../support/consumer-harness.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metric-values.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';

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
