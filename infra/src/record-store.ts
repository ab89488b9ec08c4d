import type { PipelineSettings } from '@records/pipeline-config';
import { Duration, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption, type TableProps } from 'aws-cdk-lib/aws-dynamodb';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';

/** What one region keeps: its record key, its stream, and the tables consumers and producers write. */
export interface RecordStore {
  readonly recordKey: Key;
  readonly stream: Stream;
  readonly records: Table;
  readonly deadLetters: Table;
  readonly leases: Table;
  readonly handoff: Table;
}

const retainedTable: Omit<TableProps, 'partitionKey'> = {
  billingMode: BillingMode.PAY_PER_REQUEST,
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  deletionProtection: true,
  encryption: TableEncryption.AWS_MANAGED,
  removalPolicy: RemovalPolicy.RETAIN,
};

/**
 * The region's stateful resources, built in the stack's own scope under the ids they have always had:
 * their logical ids must never change, or a deploy would replace a retained key or table and orphan
 * its data.
 */
export function createRecordStore(stack: Stack, pipeline: PipelineSettings, region: string): RecordStore {
  if (pipeline.wrappingKeys.kind !== 'kms') throw new Error('only KMS wrapping keys are deployed');
  const recordKey = new Key(stack, 'RecordKey', {
    description: `Wraps the data keys of the ${pipeline.streamName} records pipeline in ${region}`,
    alias: pipeline.wrappingKeys.alias,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const streamKey = new Key(stack, 'StreamKey', {
    description: `Encrypts the ${pipeline.streamName} stream at rest in ${region}`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stream = new Stream(stack, 'Stream', {
    streamName: pipeline.streamName,
    streamMode: StreamMode.ON_DEMAND,
    encryption: StreamEncryption.KMS,
    encryptionKey: streamKey,
    retentionPeriod: Duration.days(7),
  });
  Validations.of(stream).acknowledge({
    id: 'AwsSolutions-KDS3',
    reason:
      'A key of its own keeps the stream at rest apart from the record keys: only Kinesis, for this stream, may use it (kms:ViaService).',
  });
  const byId = (id: string, tableName: string) =>
    new Table(stack, id, { ...retainedTable, tableName, partitionKey: { name: 'id', type: AttributeType.STRING } });
  return {
    recordKey,
    stream,
    records: byId('RecordTable', pipeline.tableName),
    deadLetters: byId('DeadLetterTable', pipeline.deadLetterTableName),
    leases: byId('LeaseTable', pipeline.checkpointTableName),
    // Records this region's stream has not taken yet, or that wait here for another region: every
    // region's producers write and deliver them, under the name the producer's grant is scoped to.
    handoff: new Table(stack, 'HandoffTable', {
      ...retainedTable,
      tableName: pipeline.handoffTableName,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'version', type: AttributeType.STRING },
    }),
  };
}
