import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { FlowLogDestination, Peer, Port, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Cluster, ContainerImage, FargateService, FargateTaskDefinition, LogDrivers } from 'aws-cdk-lib/aws-ecs';
import { ApplicationLoadBalancedFargateService } from 'aws-cdk-lib/aws-ecs-patterns';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code, Function as LambdaFunction, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { DeployConfig } from './config.js';
import { producerStatements } from './policies.js';
import { consumerEnvironment, lambdaEnvironment, producerEnvironment } from './service-environment.js';

/** What every task definition acknowledges, and why. */
function acknowledgeTaskDefinition(task: FargateTaskDefinition): void {
  Validations.of(task).acknowledge({
    id: 'AwsSolutions-ECS2',
    reason:
      "The environment holds the services' non-secret configuration (names, regions, ports); no secret is set through it.",
  });
  Validations.of(task).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'The execution role pulls the image: ecr:GetAuthorizationToken takes no resource, so AWS grants it on * (the repository actions are scoped).',
  });
}

export interface RegionStackProps extends StackProps {
  readonly config: DeployConfig;
  readonly region: string;
  /** The repository root: the images are built from its Dockerfiles. */
  readonly repositoryRoot: string;
  /** The Lambda handler's bundle (`pnpm --filter @records/consumer bundle:lambda`), for CONSUMER_MODE=lambda. */
  readonly lambdaBundle: string;
}

/**
 * One region of the pipeline: its KMS key and alias, its stream (encrypted at rest with a key of its
 * own), its record, dead-letter and lease tables, and its consumers; in the first region, also the
 * producers behind a load balancer.
 */
export class RegionStack extends Stack {
  readonly recordKey: Key;
  readonly stream: Stream;

  constructor(scope: Construct, id: string, props: RegionStackProps) {
    // Region only: the account comes from the credentials at deploy time, and the availability
    // zones from CloudFormation (Fn::GetAZs), so synthesis needs no AWS lookups.
    super(scope, id, { ...props, env: { region: props.region } });
    const { config, region } = props;
    const { pipeline } = config;
    if (pipeline.wrappingKeys.kind !== 'kms') throw new Error('only KMS wrapping keys are deployed');

    this.recordKey = new Key(this, 'RecordKey', {
      description: `Wraps the data keys of the ${pipeline.streamName} records pipeline in ${region}`,
      alias: pipeline.wrappingKeys.alias,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const streamKey = new Key(this, 'StreamKey', {
      description: `Encrypts the ${pipeline.streamName} stream at rest in ${region}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stream = new Stream(this, 'Stream', {
      streamName: pipeline.streamName,
      streamMode: StreamMode.ON_DEMAND,
      encryption: StreamEncryption.KMS,
      encryptionKey: streamKey,
      retentionPeriod: Duration.days(7),
    });
    Validations.of(this.stream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason:
        'A key of its own keeps the stream at rest apart from the record keys: only Kinesis, for this stream, may use it (kms:ViaService).',
    });
    const table = (name: string, tableName: string) =>
      new Table(this, name, {
        tableName,
        partitionKey: { name: 'id', type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        encryption: TableEncryption.AWS_MANAGED,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const records = table('RecordTable', pipeline.tableName);
    const deadLetters = table('DeadLetterTable', pipeline.deadLetterTableName);
    const leases = table('LeaseTable', pipeline.checkpointTableName);
    // Records this region's stream has not taken yet, or that wait here for another region: every
    // region's producers write and deliver them, under the name the producer's grant is scoped to.
    new Table(this, 'HandoffTable', {
      tableName: pipeline.handoffTableName,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'version', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const consumerRole = new Role(this, 'ConsumerRole', {
      assumedBy: new ServicePrincipal(
        config.consumerMode === 'ecs' ? 'ecs-tasks.amazonaws.com' : 'lambda.amazonaws.com',
      ),
      description: `The ${region} consumer: its own key, stream and tables only`,
    });
    // Decrypt with this region's key only, for this stream's records only.
    consumerRole.addToPolicy(
      new PolicyStatement({
        sid: 'UnwrapWithThisRegionsKeyOnly',
        effect: Effect.ALLOW,
        actions: ['kms:Decrypt'],
        resources: [this.recordKey.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:stream': pipeline.streamName } },
      }),
    );
    consumerRole.addToPolicy(
      new PolicyStatement({
        sid: 'ResolveTheKeyAlias',
        effect: Effect.ALLOW,
        actions: ['kms:DescribeKey'],
        resources: [this.recordKey.keyArn],
      }),
    );
    this.stream.grantRead(consumerRole);
    records.grant(consumerRole, 'dynamodb:PutItem');
    deadLetters.grant(consumerRole, 'dynamodb:BatchWriteItem', 'dynamodb:PutItem');
    // What LeaseStore calls: conditional updates, the table read, and removing rows of trimmed shards.
    leases.grant(consumerRole, 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan');

    const repository = props.repositoryRoot;
    const first = region === pipeline.regions[0];
    const needsCluster = config.consumerMode === 'ecs' || first;
    const vpc = needsCluster
      ? new Vpc(this, 'Vpc', {
          maxAzs: 2,
          natGateways: 1,
          flowLogs: { all: { destination: FlowLogDestination.toCloudWatchLogs() } },
        })
      : undefined;
    const cluster =
      vpc === undefined ? undefined : new Cluster(this, 'Cluster', { vpc, containerInsightsV2: 'enabled' as never });

    if (config.consumerMode === 'ecs' && cluster !== undefined) {
      const task = new FargateTaskDefinition(this, 'ConsumerTask', {
        cpu: 512,
        memoryLimitMiB: 1024,
        taskRole: consumerRole,
      });
      task.addContainer('consumer', {
        image: ContainerImage.fromAsset(repository, { file: 'Dockerfile.consumer' }),
        environment: consumerEnvironment(config, region),
        logging: LogDrivers.awsLogs({
          streamPrefix: 'consumer',
          logGroup: new LogGroup(this, 'ConsumerLogs', { retention: RetentionDays.ONE_MONTH }),
        }),
        readonlyRootFilesystem: true,
        portMappings: [{ containerPort: 3001 }],
      });
      acknowledgeTaskDefinition(task);
      const consumers = new FargateService(this, 'Consumers', {
        cluster,
        taskDefinition: task,
        desiredCount: config.consumerTasks.min,
        // Leases hand shards over on SIGTERM: a rolling deploy re-reads nothing.
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        circuitBreaker: { enable: true, rollback: true },
      });
      consumers
        .autoScaleTaskCount({ minCapacity: config.consumerTasks.min, maxCapacity: config.consumerTasks.max })
        .scaleOnCpuUtilization('ConsumerCpu', { targetUtilizationPercent: 60 });
    }

    if (config.consumerMode === 'lambda') {
      const failures = new Queue(this, 'ConsumerFailures', {
        encryption: QueueEncryption.KMS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const handler = new LambdaFunction(this, 'Consumer', {
        runtime: Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: Code.fromAsset(props.lambdaBundle),
        role: consumerRole,
        memorySize: 1024,
        timeout: Duration.minutes(1),
        environment: lambdaEnvironment(config),
        logGroup: new LogGroup(this, 'ConsumerLogs', { retention: RetentionDays.ONE_MONTH }),
      });
      handler.addEventSource(
        new KinesisEventSource(this.stream, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: 100,
          reportBatchItemFailures: true,
          bisectBatchOnError: true,
          maxRecordAge: Duration.hours(24),
          retryAttempts: 100,
          onFailure: new SqsDlq(failures),
          parallelizationFactor: 1,
        }),
      );
      Validations.of(failures).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is the on-failure destination itself: a dead-letter queue of its own would add nothing.',
      });
    }

    if (first && cluster !== undefined) {
      const logs = new Bucket(this, 'LoadBalancerLogs', {
        encryption: BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(logs).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'This bucket receives the load balancer access logs; logging its own access would recurse.',
      });
      const producers = new ApplicationLoadBalancedFargateService(this, 'Producers', {
        cluster,
        cpu: 1024,
        memoryLimitMiB: 2048,
        desiredCount: config.producerTasks.min,
        publicLoadBalancer: true,
        openListener: false,
        minHealthyPercent: 100,
        circuitBreaker: { enable: true, rollback: true },
        taskImageOptions: {
          image: ContainerImage.fromAsset(repository, { file: 'Dockerfile.producer' }),
          containerPort: 3000,
          environment: producerEnvironment(config),
          logDriver: LogDrivers.awsLogs({
            streamPrefix: 'producer',
            logGroup: new LogGroup(this, 'ProducerLogs', { retention: RetentionDays.ONE_MONTH }),
          }),
        },
      });
      producers.loadBalancer.logAccessLogs(logs, 'producer');
      acknowledgeTaskDefinition(producers.taskDefinition);
      for (const keyRegion of pipeline.regions) {
        Validations.of(producers.taskDefinition.taskRole).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${keyRegion}:<AWS::AccountId>:key/*]`,
          reason:
            "Another region's key ARN is not known here: the grant is narrowed by conditions to keys with the pipeline's alias (kms:ResourceAliases) and the stream's encryption context, or to Kinesis for this stream (kms:ViaService).",
        });
      }
      if (config.ingressCidr === '0.0.0.0/0') {
        Validations.of(producers.loadBalancer).acknowledge({
          id: 'AwsSolutions-EC23',
          reason:
            'The producer API is public by design (PRODUCER_INGRESS_CIDR narrows it); API_KEYS guards it, and only port 80 is open.',
        });
      }
      producers.loadBalancer.connections.allowFrom(Peer.ipv4(config.ingressCidr), Port.tcp(80), 'clients of the API');
      producers.targetGroup.configureHealthCheck({ path: '/readyz', healthyHttpCodes: '200' });
      for (const statement of producerStatements(config))
        producers.taskDefinition.taskRole.addToPrincipalPolicy(statement);
      const scaling = producers.service.autoScaleTaskCount({
        minCapacity: config.producerTasks.min,
        maxCapacity: config.producerTasks.max,
      });
      scaling.scaleOnCpuUtilization('ProducerCpu', { targetUtilizationPercent: 60 });
      scaling.scaleOnRequestCount('ProducerRequests', {
        requestsPerTarget: 2_000,
        targetGroup: producers.targetGroup,
      });
    }
  }
}
