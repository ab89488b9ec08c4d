import {
  type AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  type KeyringNode,
  NodeCachingMaterialsManager,
} from '@aws-crypto/client-node';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { AwsClients } from '@records/aws-clients';
import { inParallel } from '@records/local-stack/testing';
import type { PipelineSettings } from '@records/pipeline-config';

/** CPU microseconds per record of `work` over `records` records, from this process's own accounting. */
async function cpuPerRecord(records: number, work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / records;
}

/** The SDK's stock caching manager with the pipeline's own cache bounds: the raw loops' materials. */
function stockManager(keyring: KeyringNode, pipeline: PipelineSettings): NodeCachingMaterialsManager {
  return new NodeCachingMaterialsManager({
    backingMaterials: keyring,
    cache: getLocalCryptographicMaterialsCache(pipeline.cache.capacity),
    maxAge: pipeline.cache.maxAgeSeconds * 1000,
    maxMessagesEncrypted: pipeline.cache.maxMessages,
    maxBytesEncrypted: pipeline.cache.maxBytes,
  });
}

export interface RawLoops {
  /** µs of CPU per encrypt, and the ciphertexts it made. */
  readonly encryptUs: number;
  readonly decryptUs: number;
  readonly ciphertexts: readonly Uint8Array[];
}

/**
 * The raw Encryption SDK loops in this process: encrypt `records` copies of `plaintext` for the
 * stream, then decrypt them in one region, each with the stock caching manager at the pipeline's
 * bounds, the pipeline's suite and keyrings, `concurrency` at a time. Warmed first.
 */
export async function rawLoops(options: {
  readonly records: number;
  readonly plaintext: Buffer;
  readonly streamName: string;
  readonly suite: AlgorithmSuiteIdentifier;
  readonly producerKeyring: KeyringNode;
  readonly consumerKeyring: KeyringNode;
  readonly pipeline: PipelineSettings;
  readonly concurrency: number;
}): Promise<RawLoops> {
  const { encrypt, decrypt } = buildClient({
    commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
    maxEncryptedDataKeys: options.pipeline.regions.length,
  });
  const encryptor = stockManager(options.producerKeyring, options.pipeline);
  const decryptor = stockManager(options.consumerKeyring, options.pipeline);
  const context = { stream: options.streamName };
  const once = async () =>
    (await encrypt(encryptor, options.plaintext, { encryptionContext: context, suiteId: options.suite })).result;
  const warm = await inParallel(50, options.concurrency, once);
  await inParallel(warm.length, options.concurrency, (index) => decrypt(decryptor, warm[index] as Uint8Array));
  const ciphertexts: Uint8Array[] = [];
  const encryptUs = await cpuPerRecord(options.records, async () => {
    ciphertexts.push(...(await inParallel(options.records, options.concurrency, once)));
  });
  const decryptUs = await cpuPerRecord(options.records, () =>
    inParallel(ciphertexts.length, options.concurrency, (index) =>
      decrypt(decryptor, ciphertexts[index] as Uint8Array),
    ),
  );
  return { encryptUs, decryptUs, ciphertexts };
}

/**
 * The documentation example's shape, in this process: each record encrypted through the stock
 * caching manager and put with one PutRecord call per region (no batching).
 */
export async function exampleShapeUs(options: {
  readonly records: number;
  readonly plaintext: Buffer;
  readonly streamName: string;
  readonly suite: AlgorithmSuiteIdentifier;
  readonly producerKeyring: KeyringNode;
  readonly pipeline: PipelineSettings;
  readonly clients: AwsClients;
  readonly concurrency: number;
}): Promise<number> {
  const { encrypt } = buildClient({
    commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
    maxEncryptedDataKeys: options.pipeline.regions.length,
  });
  const manager = stockManager(options.producerKeyring, options.pipeline);
  const push = async (index: number) => {
    const { result } = await encrypt(manager, options.plaintext, {
      encryptionContext: { stream: options.streamName },
      suiteId: options.suite,
    });
    for (const region of options.pipeline.regions) {
      await options.clients
        .kinesis(region)
        .send(new PutRecordCommand({ StreamName: options.streamName, PartitionKey: `example-${index}`, Data: result }));
    }
  };
  await inParallel(50, options.concurrency, push);
  return cpuPerRecord(options.records, () => inParallel(options.records, options.concurrency, push));
}
