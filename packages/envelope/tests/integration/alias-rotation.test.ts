import { randomUUID } from 'node:crypto';
import { NodeDefaultCryptographicMaterialsManager } from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import { AwsClients, type AwsRequestEvent } from '@records/aws-clients';
import {
  multiRegionKeyring,
  RecordDecryptor,
  RecordEncryptor,
  type ResolvedWrappingKeys,
  regionKeyring,
  resolveWrappingKeys,
  WrappingKeyAlias,
} from '@records/envelope';
import { ensureKmsKey } from '@records/provisioning';
import { afterAll, describe, expect, inject, it } from 'vitest';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[envelope] alias rotation suite skipped: moto_server is not installed');

const STREAM = 'records';
const HOUR_MS = 3_600_000;

describe.skipIf(kmsMissing)('Class: WrappingKeyAlias, the alias moved to a new key (KMS)', () => {
  const events: AwsRequestEvent[] = [];
  const clients = new AwsClients({
    endpoints: { kms: endpoints.kms! },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    observer: (event) => events.push(event),
  });
  const kms = (region: string) => clients.kms(region);
  const region = regions[0] as string;
  afterAll(() => clients.destroy());

  async function createAlias(): Promise<string> {
    const alias = `alias/rotation-${randomUUID()}`;
    await Promise.all(regions.map((each) => ensureKmsKey(kms(each), alias)));
    return alias;
  }

  async function moveAlias(alias: string): Promise<void> {
    await Promise.all(
      regions.map(async (each) => {
        const { KeyMetadata } = await kms(each).createKey({ Description: 'the next records key' });
        await kms(each).updateAlias({ AliasName: alias, TargetKeyId: KeyMetadata?.KeyId as string });
      }),
    );
  }

  async function startUpArns(alias: string): Promise<Readonly<Record<string, string>>> {
    const keys = await resolveWrappingKeys({ settings: { kind: 'kms', alias }, regions: [region], kms });
    if (keys.kind !== 'kms') throw new Error('KMS keys expected');
    return keys.keyArns;
  }

  async function encryptUnder(alias: string): Promise<Uint8Array> {
    const keys = await resolveWrappingKeys({ settings: { kind: 'kms', alias }, regions, kms });
    const encryptor = new RecordEncryptor({
      materials: new NodeDefaultCryptographicMaterialsManager(multiRegionKeyring(keys, regions, kms)),
      maxEncryptedDataKeys: regions.length,
    });
    return encryptor.encrypt(Buffer.from('{"id":"r"}'), STREAM);
  }

  const decryptorOver = (keys: ResolvedWrappingKeys) =>
    new RecordDecryptor({
      materials: new NodeDefaultCryptographicMaterialsManager(regionKeyring(keys, region, kms)),
      maxEncryptedDataKeys: regions.length,
    });

  it('decrypts records under the new key by looking at the alias again, and still those under the key before', async () => {
    // Prepare: a consumer that resolved the alias before it moved and would not look again for an hour
    const alias = await createAlias();
    const before = await encryptUnder(alias);
    const consumerKeys = await resolveWrappingKeys({
      settings: {
        kind: 'kms',
        alias,
        aliasRefresh: { refreshMs: HOUR_MS, keepPreviousMs: HOUR_MS, retiringAlias: `${alias}-retiring` },
      },
      regions: [region],
      kms,
    });
    const decryptor = decryptorOver(consumerKeys);
    await moveAlias(alias);
    const after = await encryptUnder(alias);
    events.length = 0;

    // Act
    const decryptedAfter = await decryptor.decrypt(after, STREAM);
    const decryptedBefore = await decryptor.decrypt(before, STREAM);

    // Assess: one look at the alias (and the retiring alias, which names no key), then each record's own key
    expect(Buffer.from(decryptedAfter.plaintext).toString()).toBe('{"id":"r"}');
    expect(Buffer.from(decryptedBefore.plaintext).toString()).toBe('{"id":"r"}');
    expect(events.map(({ operation, region: called }) => `${operation}@${called}`)).toEqual([
      `DescribeKey@${region}`,
      `DescribeKey@${region}`,
      `Decrypt@${region}`,
      `Decrypt@${region}`,
    ]);
    expect(consumerKeys.kind === 'kms' && consumerKeys.alias?.accepted(region)).toHaveLength(2);
  });

  it('refuses records under the key before once the window after the move has passed', async () => {
    // Prepare: a clock moved by hand; the gap between looks is waited on that clock
    let now = 0;
    const alias = await createAlias();
    const before = await encryptUnder(alias);
    const keyArns = await startUpArns(alias);
    const tracked = new WrappingKeyAlias({
      alias,
      initialArns: keyArns,
      kms,
      refreshMs: 1_000,
      keepPreviousMs: HOUR_MS,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    const decryptor = decryptorOver({ kind: 'kms', keyArns, alias: tracked });
    await moveAlias(alias);
    await decryptor.decrypt(await encryptUnder(alias), STREAM);

    // Act
    const inWindow = await decryptor.decrypt(before, STREAM);
    now += HOUR_MS + 1;
    const afterWindow = decryptor.decrypt(before, STREAM);

    // Assess
    expect(Buffer.from(inWindow.plaintext).toString()).toBe('{"id":"r"}');
    await expect(afterWindow).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
    expect(tracked.accepted(region)).toEqual([tracked.current(region)]);
  });

  it('decrypts records under the key before in a consumer started after the move, while the retiring alias names that key', async () => {
    // Prepare: the operator's procedure: the retiring alias on the current key, then the alias moved
    const alias = await createAlias();
    const retiringAlias = `${alias}-retiring`;
    const before = await encryptUnder(alias);
    await Promise.all(
      regions.map(async (each) => {
        const { KeyMetadata } = await kms(each).describeKey({ KeyId: alias });
        await kms(each).createAlias({ AliasName: retiringAlias, TargetKeyId: KeyMetadata?.KeyId as string });
      }),
    );
    await moveAlias(alias);
    const started = await resolveWrappingKeys({
      settings: { kind: 'kms', alias, aliasRefresh: { refreshMs: 1_000, keepPreviousMs: HOUR_MS, retiringAlias } },
      regions: [region],
      kms,
    });
    const decryptor = decryptorOver(started);

    // Act
    const decrypted = await decryptor.decrypt(before, STREAM);
    await kms(region).deleteAlias({ AliasName: retiringAlias });
    await (started.kind === 'kms' ? started.alias?.refreshNow() : undefined);
    const afterDeleted = decryptor.decrypt(before, STREAM);

    // Assess: once the retiring alias is gone, a look drops its key
    expect(Buffer.from(decrypted.plaintext).toString()).toBe('{"id":"r"}');
    await expect(afterDeleted).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });

  it('throws KEY_ALIAS_UNAVAILABLE, not DECRYPT_FAILED, when KMS cannot say where the moved alias points', async () => {
    // Prepare: the alias's looks go to a KMS that does not answer
    const alias = await createAlias();
    const keyArns = await startUpArns(alias);
    const unreachable = new AwsClients({
      endpoints: { kms: 'http://127.0.0.1:9' },
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const tracked = new WrappingKeyAlias({
      alias,
      initialArns: keyArns,
      kms: (each): KMS => unreachable.kms(each),
      refreshMs: HOUR_MS,
      keepPreviousMs: HOUR_MS,
      minRefreshGapMs: 0,
    });
    await moveAlias(alias);
    const after = await encryptUnder(alias);

    // Act
    const decrypted = decryptorOver({ kind: 'kms', keyArns, alias: tracked }).decrypt(after, STREAM);

    // Assess
    await expect(decrypted).rejects.toMatchObject({ code: 'KEY_ALIAS_UNAVAILABLE' });
    unreachable.destroy();
  });
});
