import type { Stack } from 'aws-cdk-lib';
import { type Cluster, ContainerImage, FargateService, FargateTaskDefinition, LogDrivers } from 'aws-cdk-lib/aws-ecs';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { DeployConfig } from './config.js';
import { consumerEnvironment } from './service-environment.js';
import { acknowledgeTaskDefinition } from './task-acknowledgments.js';

/**
 * CONSUMER_MODE=ecs: consumers on Fargate sharing the region's shards by lease. Built in the stack's
 * scope under the ids they have always had, so a deploy updates them in place.
 */
export function addEcsConsumers(
  stack: Stack,
  options: { config: DeployConfig; region: string; cluster: Cluster; role: Role; repositoryRoot: string },
): FargateService {
  const { config } = options;
  const task = new FargateTaskDefinition(stack, 'ConsumerTask', {
    cpu: 512,
    memoryLimitMiB: 1024,
    taskRole: options.role,
  });
  task.addContainer('consumer', {
    image: ContainerImage.fromAsset(options.repositoryRoot, { file: 'Dockerfile.consumer' }),
    environment: consumerEnvironment(config, options.region),
    logging: LogDrivers.awsLogs({
      streamPrefix: 'consumer',
      logGroup: new LogGroup(stack, 'ConsumerLogs', { retention: RetentionDays.ONE_MONTH }),
    }),
    readonlyRootFilesystem: true,
    portMappings: [{ containerPort: 3001 }],
  });
  acknowledgeTaskDefinition(task);
  const consumers = new FargateService(stack, 'Consumers', {
    cluster: options.cluster,
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
  return consumers;
}
