import { Stack, type StackProps } from 'aws-cdk-lib';
import { FlowLogDestination, IpAddresses, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Cluster } from 'aws-cdk-lib/aws-ecs';
import type { Stream } from 'aws-cdk-lib/aws-kinesis';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { PipelineAlarms } from './alarms.js';
import type { DeployConfig } from './config.js';
import { createConsumerRole } from './consumer-role.js';
import { addEcsConsumers } from './ecs-consumers.js';
import { addLambdaConsumer } from './lambda-consumer.js';
import { addProducers } from './producer-service.js';
import { createRecordStore } from './record-store.js';

const VPC_CIDR = '10.0.0.0/16';

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
 * own), its record, dead-letter, lease and hand-off tables, its consumers and its alarms; in the first
 * region, also the producers behind a load balancer.
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
    const first = region === pipeline.regions[0];

    const store = createRecordStore(this, pipeline, region);
    this.recordKey = store.recordKey;
    this.stream = store.stream;
    const role = createConsumerRole(this, {
      mode: config.consumerMode,
      region,
      streamName: pipeline.streamName,
      store,
      aliases:
        pipeline.wrappingKeys.kind === 'kms'
          ? [
              pipeline.wrappingKeys.alias,
              ...(pipeline.wrappingKeys.aliasRefresh === undefined
                ? []
                : [pipeline.wrappingKeys.aliasRefresh.retiringAlias]),
            ]
          : [],
    });

    const network = config.consumerMode === 'ecs' || first ? this.network() : undefined;
    if (config.consumerMode === 'ecs' && network !== undefined) {
      addEcsConsumers(this, { config, region, role, cluster: network.cluster, repositoryRoot: props.repositoryRoot });
    }
    const lambda =
      config.consumerMode === 'lambda'
        ? addLambdaConsumer(this, { config, stream: store.stream, role, lambdaBundle: props.lambdaBundle })
        : undefined;
    const producers =
      first && network !== undefined
        ? addProducers(this, { config, ...network, repositoryRoot: props.repositoryRoot })
        : undefined;

    new PipelineAlarms(this, 'Alarms', {
      streamName: pipeline.streamName,
      ...(config.alarmTopicArns?.[region] === undefined ? {} : { topicArn: config.alarmTopicArns[region] }),
      ...(lambda === undefined ? {} : { lambda }),
      ...(producers === undefined ? {} : { producers }),
    });
  }

  /** The VPC and cluster the Fargate services run in (not needed by a Lambda-only region). */
  private network(): { vpc: Vpc; vpcCidr: string; cluster: Cluster } {
    const vpc = new Vpc(this, 'Vpc', {
      // CDK's default block, named so that an internal load balancer's ingress rule can say it.
      ipAddresses: IpAddresses.cidr(VPC_CIDR),
      maxAzs: 2,
      natGateways: 1,
      flowLogs: { all: { destination: FlowLogDestination.toCloudWatchLogs() } },
    });
    return {
      vpc,
      vpcCidr: VPC_CIDR,
      cluster: new Cluster(this, 'Cluster', { vpc, containerInsightsV2: 'enabled' as never }),
    };
  }
}
