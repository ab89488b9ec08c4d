import { randomUUID } from 'node:crypto';
import {
  type AlgorithmSuiteIdentifier,
  buildClient,
  type CommitmentPolicy,
  NodeDefaultCryptographicMaterialsManager,
} from '@aws-crypto/client-node';
import { type AttributeValue, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListShardsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { CoalescingCachingMaterialsManager } from '@records/data-key-cache';
import { multiRegionKeyring, RecordEncryptor, resolveWrappingKeys } from '@records/envelope';
import { provisionPipeline } from '@records/provisioning';
import { credentials, dynamodbEndpoints, kinesisEndpoint, motoEndpoint, regions } from './emulators.js';

interface ForeignEncryption {
  readonly suiteId: AlgorithmSuiteIdentifier;
  readonly policy: CommitmentPolicy;
  readonly context: Readonly<Record<string, string>>;
}

/** Where one record landed: the dead-letter table keys it by `${shardId}:${sequenceNumber}`. */
export interface PutResult {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly data: Uint8Array;
}

export interface PipelineFixture {
  readonly name: string;
  readonly streamName: string;
  readonly tableName: string;
  readonly deadLetterTableName: string;
  readonly checkpointTableName: string;
  readonly kmsKeyAlias: string;
  /** Clients straight to the emulators, for the producer side and for reading tables back. */
  readonly clients: AwsClients;
  /** Encrypts as the producer does: every region's key wraps each data key, context `{ stream }`. */
  encrypt(record: unknown, streamName?: string): Promise<Uint8Array>;
  /** Encrypts JSON text as it is, numbers and all. */
  encryptText(json: string, streamName?: string): Promise<Uint8Array>;
  /**
   * Encrypts as another producer might, with every region's key: any suite, commitment policy and
   * encryption context, and a data key of its own.
   */
  encryptAs(record: object, options: ForeignEncryption): Promise<Uint8Array>;
  /** Puts bytes onto the stream in `region`, on the shard at `shardIndex` (in ListShards order). */
  put(region: string, shardIndex: number, data: Uint8Array): Promise<PutResult>;
  /** The item with this id without the pipeline's attribute, unmarshalled; undefined when absent. */
  storedRecord(region: string, id: string): Promise<Record<string, unknown> | undefined>;
  item(region: string, table: string, id: string): Promise<Record<string, AttributeValue> | undefined>;
  count(region: string, table: string): Promise<number>;
  close(): void;
}

/**
 * A freshly provisioned pipeline with names of its own (stream, both tables, KMS alias) in every
 * region, and a producer-side encryptor. `cachingProducer: false` gives every record its own data key.
 */
export async function createPipelineFixture(
  options: { shardCount?: number; cachingProducer?: boolean } = {},
): Promise<PipelineFixture> {
  const name = `consumer-${randomUUID()}`;
  const streamName = name;
  const tableName = name;
  const deadLetterTableName = `${name}-dead-letters`;
  const checkpointTableName = `${name}-checkpoints`;
  const kmsKeyAlias = `alias/${name}`;
  const clients = new AwsClients({
    endpoints: { kinesis: kinesisEndpoint(), dynamodb: dynamodbEndpoints(), kms: motoEndpoint() },
    credentials,
  });
  await provisionPipeline({
    clients,
    regions,
    streamName,
    shardCount: options.shardCount ?? 2,
    tableNames: [tableName, deadLetterTableName, checkpointTableName],
    kmsKeyAlias,
  });
  const kms = (region: string) => clients.kms(region);
  const keys = await resolveWrappingKeys({ settings: { kind: 'kms', alias: kmsKeyAlias }, regions, kms });
  const keyring = multiRegionKeyring(keys, regions, kms);
  const caching = options.cachingProducer ?? true;
  const materials = caching
    ? new CoalescingCachingMaterialsManager({
        backing: keyring,
        capacity: 10,
        maxAgeSeconds: 600,
        maxMessages: 1000,
        maxBytes: 100 * 1024 * 1024,
        refreshAhead: false,
        refreshAheadAt: 0.8,
      })
    : new NodeDefaultCryptographicMaterialsManager(keyring);
  const encryptor = new RecordEncryptor({ materials, maxEncryptedDataKeys: regions.length });
  const startingHashKeys = new Map<string, string[]>();

  // ExplicitHashKey pins a record to the shard whose hash range starts there.
  async function startingHashKeysIn(region: string): Promise<string[]> {
    const known = startingHashKeys.get(region);
    if (known !== undefined) return known;
    const { Shards = [] } = await clients.kinesis(region).send(new ListShardsCommand({ StreamName: streamName }));
    const keys = Shards.map((shard) => shard.HashKeyRange?.StartingHashKey ?? '0');
    startingHashKeys.set(region, keys);
    return keys;
  }

  async function item(region: string, table: string, id: string) {
    const { Item } = await clients
      .dynamodb(region)
      .send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }));
    return Item;
  }

  return {
    name,
    streamName,
    tableName,
    deadLetterTableName,
    checkpointTableName,
    kmsKeyAlias,
    clients,
    encrypt: (record, stream = streamName) =>
      encryptor.encrypt(new Uint8Array(Buffer.from(JSON.stringify(record))), stream),
    encryptText: (json, stream = streamName) => encryptor.encrypt(new Uint8Array(Buffer.from(json)), stream),
    async encryptAs(record, { suiteId, policy, context }) {
      const { encrypt } = buildClient(policy);
      const { result } = await encrypt(
        new NodeDefaultCryptographicMaterialsManager(keyring),
        Buffer.from(JSON.stringify(record)),
        {
          suiteId,
          encryptionContext: { ...context },
        },
      );
      return result;
    },
    async put(region, shardIndex, data) {
      const hashKey = (await startingHashKeysIn(region))[shardIndex];
      if (hashKey === undefined) throw new Error(`the stream has no shard ${shardIndex}`);
      const { ShardId, SequenceNumber } = await clients.kinesis(region).send(
        new PutRecordCommand({
          StreamName: streamName,
          PartitionKey: randomUUID(),
          ExplicitHashKey: hashKey,
          Data: data,
        }),
      );
      if (ShardId === undefined || SequenceNumber === undefined) throw new Error('PutRecord returned no position');
      return { shardId: ShardId, sequenceNumber: SequenceNumber, data };
    },
    async storedRecord(region, id) {
      const found = await item(region, tableName, id);
      if (found === undefined) return undefined;
      const { _pipeline, ...record } = found;
      return unmarshall(record);
    },
    item,
    async count(region, table) {
      const { Count = 0 } = await clients.dynamodb(region).send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
      return Count;
    },
    close: () => {
      if (materials instanceof CoalescingCachingMaterialsManager) materials.close();
      clients.destroy();
    },
  };
}
