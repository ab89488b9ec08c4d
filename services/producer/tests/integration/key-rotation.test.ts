import { randomUUID } from 'node:crypto';
import { AwsClients, type AwsRequestEvent } from '@records/aws-clients';
import { CoalescingCachingMaterialsManager } from '@records/data-key-cache';
import { multiRegionKeyring, RecordEncryptor, WrappingKeyAlias } from '@records/envelope';
import { dataKeyOf } from '@records/local-stack/testing';
import { ensureKmsKey } from '@records/provisioning';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[producer] key rotation suite skipped: moto_server is not installed');

const REFRESH_MS = 60_000;
const MESSAGES_PER_KEY = 10;

describe.skipIf(kmsMissing)("The producer's data key cache while the key alias moves (KMS)", () => {
  const events: AwsRequestEvent[] = [];
  const clients = new AwsClients({
    endpoints: { kms: endpoints.kms! },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    observer: (event) => events.push(event),
  });
  const kms = (region: string) => clients.kms(region);
  afterAll(() => clients.destroy());

  it("puts data keys fetched after the next look under the new keys, at one DescribeKey per region beyond the data keys' own KMS calls", async () => {
    // Prepare: the cache and the alias on one clock moved by hand, one data key per ten messages
    let now = 0;
    const alias = `alias/producer-rotation-${randomUUID()}`;
    const initialArns = Object.fromEntries(
      await Promise.all(regions.map(async (region) => [region, await ensureKmsKey(kms(region), alias)] as const)),
    );
    const tracked = new WrappingKeyAlias({
      alias,
      initialArns,
      kms,
      refreshMs: REFRESH_MS,
      keepPreviousMs: 0,
      now: () => now,
    });
    const materials = new CoalescingCachingMaterialsManager({
      backing: multiRegionKeyring({ kind: 'kms', keyArns: initialArns, alias: tracked }, regions, kms),
      capacity: 10,
      maxAgeSeconds: 3_600,
      maxMessages: MESSAGES_PER_KEY,
      maxBytes: 1 << 20,
      refreshAhead: false,
      refreshAheadAt: 1,
      clock: () => now,
    });
    const encryptor = new RecordEncryptor({ materials, maxEncryptedDataKeys: regions.length });
    const encrypt = (count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, index) => encryptor.encrypt(Buffer.from(`{"id":"${index}"}`), 's')),
      );
    const before = await encrypt(2 * MESSAGES_PER_KEY);
    const newArns = await Promise.all(
      regions.map(async (region) => {
        const { KeyMetadata } = await kms(region).createKey({ Description: 'the next records key' });
        await kms(region).updateAlias({ AliasName: alias, TargetKeyId: KeyMetadata?.KeyId as string });
        return KeyMetadata?.Arn as string;
      }),
    );
    events.length = 0;

    // Act: the next data key is fetched a refresh interval later, and starts the look; the one after follows it
    now += REFRESH_MS;
    const fetchedAtLook = await encrypt(MESSAGES_PER_KEY);
    await vi.waitFor(() => expect(regions.map((region) => tracked.current(region))).toEqual(newArns));
    const afterLook = await encrypt(MESSAGES_PER_KEY);
    materials.close();

    // Assess
    const underNewKeys = (ciphertext: Uint8Array) => newArns.every((arn) => dataKeyOf(ciphertext).includes(arn));
    expect(before.some(underNewKeys)).toBe(false);
    expect(fetchedAtLook.some(underNewKeys)).toBe(false);
    expect(afterLook).toHaveLength(MESSAGES_PER_KEY);
    expect(afterLook.every(underNewKeys)).toBe(true);
    const calls = events.map(({ operation }) => operation).sort();
    expect(calls).toEqual(
      [
        ...regions.map(() => 'DescribeKey'),
        ...Array.from({ length: 2 }, () => ['GenerateDataKey', ...regions.slice(1).map(() => 'Encrypt')]).flat(),
      ].sort(),
    );
  });
});
