import type { NodeMaterialsManager } from '@aws-crypto/client-node';
import type { KmsFixture } from '@records/local-stack/testing';
import { decrypt, encryptRecord, inParallel, record } from '@records/local-stack/testing';
import { ourManager, release, stockManager } from './materials-managers.js';

export interface EncryptRow {
  readonly concurrency: number;
  /** GenerateDataKey calls in the generator region, i.e. data keys made. */
  readonly stockDataKeys: number;
  readonly ourDataKeys: number;
  readonly minimumDataKeys: number;
  /** Every KMS call, both regions. */
  readonly stockCalls: number;
  readonly ourCalls: number;
  /** Ours with adaptive refresh-ahead: data keys made, some fetched ahead and unused when the burst ended. */
  readonly ourRefreshDataKeys: number;
}

export interface DecryptRow {
  readonly concurrency: number;
  readonly stockDecrypts: number;
  readonly ourDecrypts: number;
  /** Distinct data keys among the ciphertexts. */
  readonly minimum: number;
}

async function encryptCalls(kms: KmsFixture, cmm: NodeMaterialsManager, records: number, concurrency: number) {
  kms.proxy.resetCounts();
  const messages = await inParallel(records, concurrency, (index) => encryptRecord(cmm, record(index)));
  release(cmm);
  return {
    messages,
    dataKeys: kms.proxy.count({ operation: 'GenerateDataKey', region: kms.generatorRegion }),
    calls: kms.proxy.count(),
  };
}

async function decryptCalls(
  kms: KmsFixture,
  cmm: NodeMaterialsManager,
  ciphertexts: Uint8Array[],
  concurrency: number,
) {
  kms.proxy.resetCounts();
  await inParallel(ciphertexts.length, concurrency, (index) => decrypt(cmm, ciphertexts[index]!));
  release(cmm);
  return kms.proxy.count({ operation: 'Decrypt' });
}

/** N encrypts from cold through each manager, counted at the recording proxy. */
export async function compareEncrypt(kms: KmsFixture, records: number, maxMessages: number, concurrency: number) {
  const stock = await encryptCalls(kms, stockManager(kms.producerKeyring(), maxMessages), records, concurrency);
  const ours = await encryptCalls(kms, ourManager(kms.producerKeyring(), maxMessages, 'off'), records, concurrency);
  const ahead = await encryptCalls(
    kms,
    ourManager(kms.producerKeyring(), maxMessages, 'adaptive'),
    records,
    concurrency,
  );
  const row: EncryptRow = {
    concurrency,
    stockDataKeys: stock.dataKeys,
    ourDataKeys: ours.dataKeys,
    minimumDataKeys: Math.ceil(records / maxMessages),
    stockCalls: stock.calls,
    ourCalls: ours.calls,
    ourRefreshDataKeys: ahead.dataKeys,
  };
  return { row, ciphertexts: ours.messages.map((message) => message.ciphertext) };
}

/** The same ciphertexts decrypted from cold in the other region by each manager. */
export async function compareDecrypt(
  kms: KmsFixture,
  ciphertexts: Uint8Array[],
  distinctKeys: number,
  maxMessages: number,
  concurrency: number,
): Promise<DecryptRow> {
  const keyring = () => kms.consumerKeyring(kms.otherRegion);
  const stockDecrypts = await decryptCalls(kms, stockManager(keyring(), maxMessages), ciphertexts, concurrency);
  const ourDecrypts = await decryptCalls(kms, ourManager(keyring(), maxMessages, 'off'), ciphertexts, concurrency);
  return { concurrency, stockDecrypts, ourDecrypts, minimum: distinctKeys };
}
