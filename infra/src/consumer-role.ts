import type { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ConsumerMode } from './config.js';
import type { RecordStore } from './record-store.js';

/** The consumer's one role, in ECS and Lambda alike: its own region's key, stream and tables only. */
export function createConsumerRole(
  stack: Stack,
  options: { mode: ConsumerMode; region: string; streamName: string; store: RecordStore },
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
  role.addToPolicy(
    new PolicyStatement({
      sid: 'ResolveTheKeyAlias',
      effect: Effect.ALLOW,
      actions: ['kms:DescribeKey'],
      resources: [store.recordKey.keyArn],
    }),
  );
  store.stream.grantRead(role);
  store.records.grant(role, 'dynamodb:PutItem');
  store.deadLetters.grant(role, 'dynamodb:BatchWriteItem', 'dynamodb:PutItem');
  // What LeaseStore calls: conditional updates, the table read, and removing rows of trimmed shards.
  store.leases.grant(role, 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan');
  return role;
}
