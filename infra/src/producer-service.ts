import { RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { Peer, Port } from 'aws-cdk-lib/aws-ec2';
import {
  type Cluster,
  ContainerImage,
  Secret as ContainerSecret,
  FargateTaskDefinition,
  LogDrivers,
} from 'aws-cdk-lib/aws-ecs';
import { ApplicationLoadBalancedFargateService } from 'aws-cdk-lib/aws-ecs-patterns';
import { ApplicationProtocol, SslPolicy } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { DeployConfig } from './config.js';
import { producerStatements } from './policies.js';
import { producerEnvironment } from './service-environment.js';
import { acknowledgeTaskDefinition } from './task-acknowledgments.js';

const CONTAINER_PORT = 3000;

/** The producers' API keys, as the producer parses API_KEYS: one secret string, a comma list of keys. */
function apiKeysSecret(stack: Stack, config: DeployConfig): ISecret | undefined {
  const source = config.producerEndpoint.apiKeys;
  if (source.kind === 'anonymous') return undefined;
  if (source.kind === 'secret') return Secret.fromSecretCompleteArn(stack, 'ProducerApiKeys', source.secretArn);
  const secret = new Secret(stack, 'ProducerApiKeys', {
    description: `API keys of the ${config.pipeline.streamName} producers: a comma list, read by each task at start`,
    // No commas or spaces: the value is one key now, and a comma list of keys once rotated.
    generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The producer reads its keys at start-up, so a rotation Lambda would change them under running tasks: keys are rotated by hand with an overlap window and a forced deployment, as the README describes.',
  });
  return secret;
}

/** The producer task's CPU units (1024 = one vCPU). */
const PRODUCER_TASK_CPU = 1024;

/**
 * Said outright rather than left to the producer's default (the cores it sees), which a Fargate
 * task's CPU limit may not show: a thread per vCPU from two up, none on one (the event loop then
 * encrypts, as a single worker would only add a hand-off to the same core).
 */
function encryptThreads(cpuUnits: number): number {
  const vcpus = Math.floor(cpuUnits / 1024);
  return vcpus >= 2 ? vcpus : 0;
}

function taskDefinition(stack: Stack, config: DeployConfig, repositoryRoot: string): FargateTaskDefinition {
  const task = new FargateTaskDefinition(stack, 'ProducerTask', { cpu: PRODUCER_TASK_CPU, memoryLimitMiB: 2048 });
  const keys = apiKeysSecret(stack, config);
  // The secret reaches the container through ECS, which reads it with the execution role (granted
  // here, and to no other role) when a task starts.
  task.addContainer('producer', {
    image: ContainerImage.fromAsset(repositoryRoot, { file: 'Dockerfile.producer' }),
    environment: { ...producerEnvironment(config), ENCRYPT_THREADS: String(encryptThreads(PRODUCER_TASK_CPU)) },
    ...(keys === undefined ? {} : { secrets: { API_KEYS: ContainerSecret.fromSecretsManager(keys) } }),
    logging: LogDrivers.awsLogs({
      streamPrefix: 'producer',
      logGroup: new LogGroup(stack, 'ProducerLogs', { retention: RetentionDays.ONE_MONTH }),
    }),
    // The producer writes no file: its logs and metrics leave by stdout and HTTP.
    readonlyRootFilesystem: true,
    portMappings: [{ containerPort: CONTAINER_PORT }],
  });
  acknowledgeTaskDefinition(task);
  for (const statement of producerStatements(config)) task.addToTaskRolePolicy(statement);
  for (const keyRegion of config.pipeline.regions) {
    Validations.of(task.taskRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${keyRegion}:<AWS::AccountId>:key/*]`,
      reason:
        "Another region's key ARN is not known here: the grant is narrowed by conditions to keys with the pipeline's alias (kms:ResourceAliases) and the stream's encryption context, or to Kinesis for this stream (kms:ViaService).",
    });
  }
  return task;
}

function accessLogs(stack: Stack): Bucket {
  const logs = new Bucket(stack, 'LoadBalancerLogs', {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(logs).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'This bucket receives the load balancer access logs; logging its own access would recurse.',
  });
  return logs;
}

/**
 * The first region's producers behind an Application Load Balancer: HTTPS with the given certificate
 * (port 80 only redirects), or, for PRODUCER_LOAD_BALANCER=internal without a certificate, HTTP
 * reachable only inside the VPC.
 */
export function addProducers(
  stack: Stack,
  options: { config: DeployConfig; cluster: Cluster; vpcCidr: string; repositoryRoot: string },
): ApplicationLoadBalancedFargateService {
  const { config } = options;
  const endpoint = config.producerEndpoint;
  const certificate =
    endpoint.certificateArn === undefined
      ? undefined
      : Certificate.fromCertificateArn(stack, 'ProducerCertificate', endpoint.certificateArn);
  const producers = new ApplicationLoadBalancedFargateService(stack, 'Producers', {
    cluster: options.cluster,
    taskDefinition: taskDefinition(stack, config, options.repositoryRoot),
    desiredCount: config.producerTasks.min,
    publicLoadBalancer: endpoint.scheme === 'internet-facing',
    // Ingress is opened below, from PRODUCER_INGRESS_CIDR only.
    openListener: false,
    ...(certificate === undefined
      ? { protocol: ApplicationProtocol.HTTP, listenerPort: 80 }
      : {
          protocol: ApplicationProtocol.HTTPS,
          listenerPort: 443,
          certificate,
          sslPolicy: SslPolicy.RECOMMENDED_TLS,
          redirectHTTP: true,
        }),
    minHealthyPercent: 100,
    circuitBreaker: { enable: true, rollback: true },
  });
  producers.loadBalancer.logAccessLogs(accessLogs(stack), 'producer');

  const clients = Peer.ipv4(endpoint.ingressCidr ?? options.vpcCidr);
  const ports = certificate === undefined ? [80] : [443, 80];
  for (const port of ports) {
    producers.loadBalancer.connections.allowFrom(
      clients,
      Port.tcp(port),
      port === 443 || certificate === undefined ? 'clients of the API' : 'redirected to HTTPS',
    );
  }
  if (endpoint.ingressCidr === '0.0.0.0/0') {
    Validations.of(producers.loadBalancer).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: `The producer API is open to PRODUCER_INGRESS_CIDR=0.0.0.0/0 by choice: ${
        certificate === undefined ? 'HTTP on port 80' : 'HTTPS on port 443 (port 80 only redirects to it)'
      }, on ${endpoint.scheme === 'internal' ? 'an internal load balancer, reachable only inside the VPC' : 'an internet-facing load balancer'}, ${
        endpoint.apiKeys.kind === 'anonymous'
          ? 'with no API key (PRODUCER_ALLOW_ANONYMOUS=true)'
          : 'and every route but the health probes needs an API key from Secrets Manager'
      }.`,
    });
  }
  producers.targetGroup.configureHealthCheck({ path: '/readyz', healthyHttpCodes: '200' });
  const scaling = producers.service.autoScaleTaskCount({
    minCapacity: config.producerTasks.min,
    maxCapacity: config.producerTasks.max,
  });
  scaling.scaleOnCpuUtilization('ProducerCpu', { targetUtilizationPercent: 60 });
  scaling.scaleOnRequestCount('ProducerRequests', { requestsPerTarget: 2_000, targetGroup: producers.targetGroup });
  return producers;
}
