import { Aws } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { DeployConfig } from './config.js';

const keysIn = (region: string) => `arn:${Aws.PARTITION}:kms:${region}:${Aws.ACCOUNT_ID}:key/*`;
const tableArn = (region: string, name: string) =>
  `arn:${Aws.PARTITION}:dynamodb:${region}:${Aws.ACCOUNT_ID}:table/${name}`;
const streamArn = (region: string, name: string) =>
  `arn:${Aws.PARTITION}:kinesis:${region}:${Aws.ACCOUNT_ID}:stream/${name}`;

/**
 * The producer's grants, each to what its code calls and no more. Key ARNs differ per region and
 * are not known to another region's stack, so the record keys are named by their alias
 * (`kms:ResourceAliases`) and every use is bound to the stream's encryption context; the streams'
 * own at-rest keys are usable only through Kinesis, for that stream.
 */
export function producerStatements(config: DeployConfig): PolicyStatement[] {
  const { pipeline } = config;
  if (pipeline.wrappingKeys.kind !== 'kms') return [];
  const alias = pipeline.wrappingKeys.alias;
  const [generator, ...others] = pipeline.regions as [string, ...string[]];
  const recordKey = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias } };
  const forStream = { StringEquals: { 'kms:EncryptionContext:stream': pipeline.streamName } };
  return [
    new PolicyStatement({
      sid: 'GenerateDataKeysInTheFirstRegion',
      effect: Effect.ALLOW,
      actions: ['kms:GenerateDataKey'],
      resources: [keysIn(generator)],
      conditions: { ...recordKey, ...forStream },
    }),
    ...(others.length === 0
      ? []
      : [
          new PolicyStatement({
            sid: 'WrapDataKeysInTheOtherRegions',
            effect: Effect.ALLOW,
            actions: ['kms:Encrypt'],
            resources: others.map(keysIn),
            conditions: { ...recordKey, ...forStream },
          }),
        ]),
    new PolicyStatement({
      sid: 'ResolveTheKeyAlias',
      effect: Effect.ALLOW,
      actions: ['kms:DescribeKey'],
      resources: pipeline.regions.map(keysIn),
      conditions: recordKey,
    }),
    new PolicyStatement({
      sid: 'PutRecordsOnEveryRegionsStream',
      effect: Effect.ALLOW,
      actions: ['kinesis:PutRecords', 'kinesis:ListShards'],
      resources: pipeline.regions.map((region) => streamArn(region, pipeline.streamName)),
    }),
    new PolicyStatement({
      sid: 'HandOffToEveryRegionsTable',
      effect: Effect.ALLOW,
      // What HandoffStore calls: write an entry, count and read a target's entries, claim, remove.
      actions: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: pipeline.regions.map((region) => tableArn(region, pipeline.handoffTableName)),
    }),
    ...pipeline.regions.map(
      (region) =>
        new PolicyStatement({
          sid: `StreamEncryptionAtRest${region.replaceAll('-', '')}`,
          effect: Effect.ALLOW,
          actions: ['kms:GenerateDataKey'],
          resources: [keysIn(region)],
          conditions: {
            StringEquals: {
              'kms:ViaService': `kinesis.${region}.${Aws.URL_SUFFIX}`,
              'kms:EncryptionContext:aws:kinesis:arn': streamArn(region, pipeline.streamName),
            },
          },
        }),
    ),
  ];
}
