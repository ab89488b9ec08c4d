import { KMS } from '@aws-sdk/client-kms';
import { RecordDecryptor, regionKeyring, resolveWrappingKeys, WrappingKeyAlias } from '@records/envelope';
import { KmsProxy } from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnwrapClassifier } from '../../src/unwrap-failure-classifier.js';
import { kmsMissing, motoEndpoint, regions, warnIfKmsMissing } from '../support/emulators.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the unwrap classifier suite');

describe.skipIf(kmsMissing)('Function: createUnwrapClassifier (real KMS calls to moto)', () => {
  const region = regions[0] as string;
  let fixture: PipelineFixture;
  let stranger: PipelineFixture;
  let proxy: KmsProxy;

  beforeAll(async () => {
    fixture = await createPipelineFixture({ shardCount: 1 });
    stranger = await createPipelineFixture({ shardCount: 1 });
    proxy = await KmsProxy.start(motoEndpoint());
  });

  afterAll(async () => {
    await proxy.close();
    fixture.close();
    stranger.close();
  });

  /** A consumer's decryptor over `kms`, as createRecordPipeline builds it, without the cache. */
  async function decryptorWith(kms: (region: string) => KMS) {
    const keys = await resolveWrappingKeys({
      settings: { kind: 'kms', alias: fixture.kmsKeyAlias },
      regions: [region],
      kms: (keyRegion) => fixture.clients.kms(keyRegion),
    });
    const classifier = createUnwrapClassifier(kms);
    return new RecordDecryptor({
      materials: classifier.materials(regionKeyring(keys, region, classifier.kms)),
      maxEncryptedDataKeys: regions.length,
    });
  }

  type Credentials = NonNullable<ConstructorParameters<typeof KMS>[0]>['credentials'];
  const through = (endpoint: string, credentials: Credentials) => () =>
    new KMS({ region, endpoint, credentials, maxAttempts: 1 });

  it('does not blame the record when credentials cannot be had before the request is sent', async () => {
    // Prepare
    const decryptor = await decryptorWith(
      through(motoEndpoint(), async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        });
      }),
    );

    // Act
    const error = await decryptor.decrypt(await fixture.encrypt({ id: 'c' }), fixture.streamName).catch((e) => e);

    // Assess
    expect(error).toMatchObject({ code: 'KMS_UNAVAILABLE', cause: { name: 'CredentialsProviderError' } });
  });

  it.each(['ExpiredTokenException', 'AccessDeniedException', 'NotFoundException', 'DisabledException'])(
    'does not blame the record when KMS answers %s',
    async (type) => {
      // Prepare
      proxy.refuse({ operation: 'Decrypt' }, { answer: { status: 400, type } });
      const decryptor = await decryptorWith(through(proxy.url, { accessKeyId: 'test', secretAccessKey: 'test' }));

      // Act
      const error = await decryptor.decrypt(await fixture.encrypt({ id: 'k' }), fixture.streamName).catch((e) => e);
      proxy.restore();

      // Assess
      expect(error).toMatchObject({ code: 'KMS_UNAVAILABLE', cause: { name: type } });
    },
  );

  it.each(['InvalidCiphertextException', 'IncorrectKeyException'])(
    'blames the record when KMS answers %s about its data key',
    async (type) => {
      // Prepare
      proxy.refuse({ operation: 'Decrypt' }, { answer: { status: 400, type } });
      const decryptor = await decryptorWith(through(proxy.url, { accessKeyId: 'test', secretAccessKey: 'test' }));

      // Act
      const act = decryptor.decrypt(await fixture.encrypt({ id: 'i' }), fixture.streamName);

      // Assess
      await expect(act).rejects.toMatchObject({ code: 'DECRYPT_FAILED', message: expect.stringContaining(type) });
      proxy.restore();
    },
  );

  it('blames the record when it carries no data key for this region, without calling KMS', async () => {
    // Prepare: wrapped only under another pipeline's keys
    proxy.resetCounts();
    const decryptor = await decryptorWith(through(proxy.url, { accessKeyId: 'test', secretAccessKey: 'test' }));

    // Act
    const act = decryptor.decrypt(await stranger.encrypt({ id: 's' }), fixture.streamName);

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
    expect(proxy.count({ operation: 'Decrypt' })).toBe(0);
  });

  it('does not blame the record when its data key is under a key the alias moved to and KMS cannot say where the alias points', async () => {
    // Prepare: a consumer that knows the alias by a key it has left; its next look is refused
    const kms = through(proxy.url, { accessKeyId: 'test', secretAccessKey: 'test' });
    const alias = new WrappingKeyAlias({
      alias: fixture.kmsKeyAlias,
      initialArns: { [region]: `arn:aws:kms:${region}:111122223333:key/00000000-0000-0000-0000-000000000000` },
      kms,
      refreshMs: 3_600_000,
      keepPreviousMs: 3_600_000,
      minRefreshGapMs: 0,
    });
    const classifier = createUnwrapClassifier(kms);
    const decryptor = new RecordDecryptor({
      materials: classifier.materials(regionKeyring({ kind: 'kms', keyArns: {}, alias }, region, classifier.kms)),
      maxEncryptedDataKeys: regions.length,
    });
    const ciphertext = await fixture.encrypt({ id: 'a' });
    proxy.refuse({ operation: 'DescribeKey' });

    // Act
    const refused = await decryptor.decrypt(ciphertext, fixture.streamName).catch((e) => e);
    proxy.restore();
    const { plaintext } = await decryptor.decrypt(ciphertext, fixture.streamName);

    // Assess: the batch waits for KMS, and the record decrypts once the alias can be looked at
    expect(refused).toMatchObject({ code: 'KMS_UNAVAILABLE', cause: { code: 'KEY_ALIAS_UNAVAILABLE' } });
    expect(JSON.parse(Buffer.from(plaintext).toString())).toMatchObject({ id: 'a' });
  });
});
