import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { Stream } from 'aws-cdk-lib/aws-kinesis';
import {
  CfnEventSourceMapping,
  Code,
  Function as LambdaFunction,
  Runtime,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { DeployConfig } from './config.js';
import { lambdaEnvironment } from './service-environment.js';

export interface LambdaConsumer {
  readonly handler: LambdaFunction;
  /** The event source mapping's on-failure destination: shard and sequence ranges of what it skipped. */
  readonly failures: Queue;
}

// Long enough for the handler to wait out its bounded back-off (about a minute) while KMS or
// DynamoDB is out, and still write what it holds, instead of failing in milliseconds.
const TIMEOUT = Duration.minutes(5);
// -1: no retry count and no age limit; a record is retried for as long as the stream retains it.
const UNTIL_THE_STREAM_TRIMS_IT = -1;

/**
 * CONSUMER_MODE=lambda: the Lambda handler on the stream's event source mapping. Built in the stack's
 * scope under the ids it has always had, so a deploy updates it in place.
 */
export function addLambdaConsumer(
  stack: Stack,
  options: { config: DeployConfig; stream: Stream; role: Role; lambdaBundle: string },
): LambdaConsumer {
  const failures = new Queue(stack, 'ConsumerFailures', {
    encryption: QueueEncryption.KMS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(failures).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is the on-failure destination itself: a dead-letter queue of its own would add nothing.',
  });
  const logGroup = new LogGroup(stack, 'ConsumerLogs', { retention: RetentionDays.ONE_MONTH });
  const handler = new LambdaFunction(stack, 'Consumer', {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromAsset(options.lambdaBundle),
    role: options.role,
    memorySize: 1024,
    timeout: TIMEOUT,
    environment: lambdaEnvironment(options.config),
    logGroup,
  });
  // The role is the consumer's own, not one CDK makes with AWSLambdaBasicExecutionRole: it may write
  // to this function's log group and no other.
  logGroup.grantWrite(options.role);
  handler.addEventSource(
    new KinesisEventSource(options.stream, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: UNTIL_THE_STREAM_TRIMS_IT,
      onFailure: new SqsDlq(failures),
      parallelizationFactor: 1,
    }),
  );
  // CDK takes maxRecordAge only as a Duration of 60 s to 7 days; -1 is the service's "infinite".
  const mapping = handler.node.findAll().find((child) => child instanceof CfnEventSourceMapping);
  if (mapping === undefined) throw new Error('the Kinesis event source mapping was not created');
  mapping.maximumRecordAgeInSeconds = UNTIL_THE_STREAM_TRIMS_IT;
  return { handler, failures };
}
