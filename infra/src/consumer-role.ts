import { Aws, type Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ConsumerMode } from './config.js';
import type { RecordStore } from './record-store.js';

/** The consumer's one role, in ECS and Lambda alike: its own region's key, stream and tables only. */
export function createConsumerRole(
  stack: Stack,
  options: {
    mode: ConsumerMode;
    region: string;
    streamName: string;
    store: RecordStore;
    /** KMS_KEY_ALIAS and KMS_RETIRING_KEY_ALIAS: the keys a consumer accepts once the alias moved. */
    aliases: readonly string[];
  },
): Role {
  const { store } = options;
  const role = new Role(stack, 'ConsumerRole', {
    assumedBy: new ServicePrincipal(options.mode === 'ecs' ? 'ecs-tasks.amazonaws.com' : 'lambda.amazonaws.com'),
    description: `The ${options.region} consumer: its own key, stream and tables only`,
  });
  // Decrypt with this region's key only, for this stream's records only.
  role.addToPolicy(
    new PolicyStatement({
      sid: 'UnwrapWithThisRegionsKeyOnly',
      effect: Effect.ALLOW,
      actions: ['kms:Decrypt'],
      resources: [store.recordKey.keyArn],
      conditions: { StringEquals: { 'kms:EncryptionContext:stream': options.streamName } },
    }),
  );
  // After the alias moves to a new key (key rotation by alias), the consumer decrypts with the key
  // it names now and, within the window, the one KMS_RETIRING_KEY_ALIAS names: neither is this
  // stack's key, so they are named by alias, in this region only, on the stream's context.
  const regionsKeys = `arn:${Aws.PARTITION}:kms:${options.region}:${Aws.ACCOUNT_ID}:key/*`;
  const underTheAliases = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [...options.aliases] } };
  role.addToPolicy(
    new PolicyStatement({
      sid: 'UnwrapWithKeysUnderTheAliases',
      effect: Effect.ALLOW,
      actions: ['kms:Decrypt'],
      resources: [regionsKeys],
      conditions: { ...underTheAliases, StringEquals: { 'kms:EncryptionContext:stream': options.streamName } },
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      sid: 'ResolveTheKeyAlias',
      effect: Effect.ALLOW,
      actions: ['kms:DescribeKey'],
      resources: [store.recordKey.keyArn, regionsKeys],
    }),
  );
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${options.region}:<AWS::AccountId>:key/*]`,
    reason:
      "A key the alias is moved to is not this stack's: the grant is narrowed to this region's keys that carry the pipeline's alias or its retiring alias (kms:ResourceAliases), on the stream's encryption context.",
  });
  store.stream.grantRead(role);
  store.records.grant(role, 'dynamodb:PutItem');
  store.deadLetters.grant(role, 'dynamodb:BatchWriteItem', 'dynamodb:PutItem');
  // What LeaseStore calls: conditional updates, the table read, and removing rows of trimmed shards.
  store.leases.grant(role, 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan');
  return role;
}
