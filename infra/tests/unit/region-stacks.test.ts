import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerMode } from '../../src/config.js';
import { type AlarmProperties, expectedAlarms } from './expected-alarms.js';
import {
  acknowledgmentsOf,
  actionsOf,
  CERTIFICATE_ARN,
  ENV,
  ensureLambdaBundle,
  repositoryRoot,
  resourcesOf,
  statementsOf,
  synthesize,
} from './support.js';

type Synth = ReturnType<typeof synthesize>;
const synths = new Map<ConsumerMode, Synth>();

/** Each consumer mode synthesized once for this file's tests. */
function synthesized(mode: ConsumerMode): Synth {
  let synth = synths.get(mode);
  if (synth === undefined) {
    if (mode === 'lambda') ensureLambdaBundle();
    synth = synthesize({ CONSUMER_MODE: mode });
    synths.set(mode, synth);
  }
  return synth;
}

/** The variables the README's configuration table documents. */
function documentedVariables(): Set<string> {
  const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Metrics'));
  return new Set([...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1] as string));
}

describe('App: the pipeline on AWS, with ECS consumers', () => {
  let synth: Synth;
  beforeAll(() => {
    synth = synthesized('ecs');
  }, 120_000);

  it('synthesizes one stack per region: its key and alias, its stream encrypted at rest with KMS, and four tables', () => {
    // Assess
    expect(synth.templates.map(({ region }) => region)).toEqual(['us-east-1', 'eu-west-1']);
    for (const { template } of synth.templates) {
      // The record key, the stream's own, and the alarm topic's.
      template.resourceCountIs('AWS::KMS::Key', 3);
      template.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/records' });
      template.hasResourceProperties('AWS::Kinesis::Stream', {
        Name: 'records',
        StreamEncryption: { EncryptionType: 'KMS', KeyId: Match.anyValue() },
        StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      });
      template.resourceCountIs('AWS::DynamoDB::Table', 4);
      template.allResourcesProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
      });
      for (const name of ['records', 'records-dead-letters', 'records-checkpoints', 'records-handoff']) {
        template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: name });
      }
      template.resourceCountIs('AWS::ECS::Service', template === synth.templates[0]?.template ? 2 : 1);
    }
    // Producers in the first region, behind a load balancer, scaled on CPU and on requests.
    const first = synth.templates[0]!.template;
    first.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    first.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
      }),
    });
    synth.templates[1]!.template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
  });

  it('lets the producer generate data keys in the first region and encrypt in the others, only for the stream, and put to every stream', () => {
    // Prepare
    const statements = statementsOf(synth.templates[0]!.template, 'ProducerTaskTaskRole');
    const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
    const context = { StringEquals: { 'kms:EncryptionContext:stream': 'records' } };

    // Assess
    expect(bySid.GenerateDataKeysInTheFirstRegion).toMatchObject({ Action: 'kms:GenerateDataKey', Condition: context });
    expect(JSON.stringify(bySid.GenerateDataKeysInTheFirstRegion?.Resource)).toContain(':kms:us-east-1:');
    expect(JSON.stringify(bySid.GenerateDataKeysInTheFirstRegion?.Resource)).not.toContain('eu-west-1');
    expect(bySid.WrapDataKeysInTheOtherRegions).toMatchObject({ Action: 'kms:Encrypt', Condition: context });
    expect(JSON.stringify(bySid.WrapDataKeysInTheOtherRegions?.Resource)).toContain(':kms:eu-west-1:');
    expect(JSON.stringify(bySid.WrapDataKeysInTheOtherRegions?.Resource)).not.toContain('us-east-1');
    for (const sid of ['GenerateDataKeysInTheFirstRegion', 'WrapDataKeysInTheOtherRegions', 'ResolveTheKeyAlias']) {
      expect(bySid[sid]?.Condition).toMatchObject({
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/records' },
      });
    }
    expect(actionsOf(bySid.PutRecordsOnEveryRegionsStream!).sort()).toEqual([
      'kinesis:ListShards',
      'kinesis:PutRecords',
    ]);
    const streams = JSON.stringify(bySid.PutRecordsOnEveryRegionsStream?.Resource);
    expect(streams).toContain(':kinesis:us-east-1:');
    expect(streams).toContain(':kinesis:eu-west-1:');
    expect(actionsOf(bySid.HandOffToEveryRegionsTable!).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    const handoffTables = JSON.stringify(bySid.HandOffToEveryRegionsTable?.Resource);
    expect(handoffTables).toContain(':dynamodb:us-east-1:');
    expect(handoffTables).toContain(':dynamodb:eu-west-1:');
    expect(handoffTables).toContain(':table/records-handoff');
    // Nothing with a wildcard action, nothing on every resource.
    for (const statement of statements) {
      expect(
        actionsOf(statement).every((action) => !action.includes('*')),
        statement.Sid,
      ).toBe(true);
      expect(statement.Resource).not.toBe('*');
    }
    // KMS is never used without a condition naming the key.
    for (const statement of statements.filter((each) => actionsOf(each).some((action) => action.startsWith('kms:')))) {
      expect(statement.Condition, statement.Sid).toBeDefined();
    }
  });

  it("lets each consumer decrypt with its own region's key only, read its own stream and write its own tables", () => {
    for (const { template, stack } of synth.templates) {
      // Prepare
      const statements = statementsOf(template, 'ConsumerRole');
      const ownResources = new Set(Object.keys(template.toJSON().Resources as object));
      const referenced = (resource: unknown) =>
        [...JSON.stringify(resource).matchAll(/"(?:Fn::GetAtt|Ref)":\["?([A-Za-z0-9]+)/g)].map((match) => match[1]);
      // Every resource a statement names is a token referring to this stack's own resources: never a
      // literal ARN or wildcard string, and never an element that refers to nothing.
      const onlyOwn = (resource: unknown) =>
        (Array.isArray(resource) ? resource : [resource]).every((element) => {
          const ids = referenced(element);
          return typeof element === 'object' && ids.length > 0 && ids.every((id) => ownResources.has(id as string));
        });

      // Assess
      const decrypts = statements.filter((statement) => actionsOf(statement).includes('kms:Decrypt'));
      expect(decrypts.length, stack.region).toBeGreaterThan(0);
      for (const statement of decrypts.filter((found) => found.Sid !== 'UnwrapWithKeysUnderTheAliases')) {
        // Keys of this stack only: the record key (on the stream's context) and the stream's at-rest key.
        expect(onlyOwn(statement.Resource), JSON.stringify(statement.Resource)).toBe(true);
      }
      expect(decrypts.find((statement) => statement.Sid === 'UnwrapWithThisRegionsKeyOnly')?.Condition).toEqual({
        StringEquals: { 'kms:EncryptionContext:stream': 'records' },
      });
      // The keys the alias moves to: this region's only, under the alias or its retiring alias, on the context.
      const rotated = decrypts.find((statement) => statement.Sid === 'UnwrapWithKeysUnderTheAliases');
      expect(JSON.stringify(rotated?.Resource)).toContain(`:kms:${stack.region}:`);
      expect(JSON.stringify(rotated?.Resource)).toContain(':key/*');
      expect(rotated?.Condition).toEqual({
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/records', 'alias/records-retiring'] },
        StringEquals: { 'kms:EncryptionContext:stream': 'records' },
      });
      const writes = statements.filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
      );
      expect(writes.length, stack.region).toBeGreaterThan(0);
      for (const statement of writes) {
        expect(onlyOwn(statement.Resource), JSON.stringify(statement.Resource)).toBe(true);
        expect(actionsOf(statement).every((action) => !action.includes('*'))).toBe(true);
      }
      const reads = statements.filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('kinesis:')),
      );
      expect(reads.length, stack.region).toBeGreaterThan(0);
      expect(reads.flatMap(actionsOf)).not.toContain('kinesis:PutRecords');
      for (const statement of reads) expect(onlyOwn(statement.Resource), JSON.stringify(statement.Resource)).toBe(true);
      expect(statements.some((statement) => statement.Resource === '*')).toBe(false);
    }
  });

  it("passes cdk-nag's AwsSolutions checks, every suppression with its reason", () => {
    // Assess
    expect(synth.report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(synth.errors).toEqual([]);
  });

  it("gives the task definitions only variables the README's configuration table documents", () => {
    // Prepare
    const documented = documentedVariables();

    // Act
    const used = synth.templates.flatMap(({ template }) =>
      Object.values(template.findResources('AWS::ECS::TaskDefinition')).flatMap((task) =>
        (
          task as { Properties: { ContainerDefinitions: { Environment?: { Name: string }[] }[] } }
        ).Properties.ContainerDefinitions.flatMap((container) =>
          (container.Environment ?? []).map((variable) => variable.Name),
        ),
      ),
    );

    // Assess
    expect(used.length).toBeGreaterThan(0);
    expect([...new Set(used)].filter((name) => !documented.has(name))).toEqual([]);
  });
});

describe('App: the pipeline on AWS, with the Lambda handler as consumer', () => {
  let synth: Synth;
  beforeAll(() => {
    synth = synthesized('lambda');
  }, 120_000);

  it('runs the handler on a Kinesis event source mapping that reports item failures, bisects, retries while the stream holds a record and sends failures on', () => {
    for (const { template } of synth.templates) {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        // -1 and -1: no retry count, no age limit; only the stream's retention ends the retries.
        MaximumRetryAttempts: -1,
        MaximumRecordAgeInSeconds: -1,
        StartingPosition: 'TRIM_HORIZON',
        ParallelizationFactor: 1,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConsumerFailures'), 'Arn'] } },
        },
      });
      // Five minutes: room for the handler's bounded back-off during an outage of KMS or DynamoDB.
      template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Timeout: 300 });
    }
    expect(synth.report.violations.map((violation) => violation.ruleName)).toEqual([]);
    const documented = documentedVariables();
    for (const { template } of synth.templates) {
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
        const variables = Object.keys(
          (fn as { Properties: { Environment?: { Variables?: object } } }).Properties.Environment?.Variables ?? {},
        );
        expect(variables.filter((name) => !documented.has(name))).toEqual([]);
      }
    }
  });

  it("lets the function write its logs to its own log group only, with the consumer's own role", () => {
    for (const { template, stack } of synth.templates) {
      // Prepare
      const [logGroup] = Object.keys(resourcesOf(template, 'AWS::Logs::LogGroup')).filter((id) =>
        id.startsWith('ConsumerLogs'),
      );
      const fn = Object.values(resourcesOf(template, 'AWS::Lambda::Function'))[0];
      const logStatements = statementsOf(template, 'ConsumerRole').filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('logs:')),
      );

      // Assess
      expect(logGroup, stack.region).toBeDefined();
      expect(fn?.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logGroup } });
      expect(fn?.Properties.Role).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ConsumerRole/), 'Arn'] });
      expect(logStatements).toHaveLength(1);
      expect(actionsOf(logStatements[0]!).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logStatements[0]?.Resource).toEqual({ 'Fn::GetAtt': [logGroup, 'Arn'] });
      // No managed policy beside it (AWSLambdaBasicExecutionRole would allow every log group).
      const role = Object.entries(resourcesOf(template, 'AWS::IAM::Role')).find(([id]) =>
        id.startsWith('ConsumerRole'),
      );
      expect(role?.[1].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe.each(['ecs', 'lambda'] as const)('App: safe to deploy, with %s consumers', (mode) => {
  let synth: Synth;
  let producerTemplate: Synth['templates'][number]['template'];
  beforeAll(() => {
    synth = synthesized(mode);
    producerTemplate = synth.templates[0]!.template;
  }, 120_000);

  it('serves the producers on HTTPS 443 with the certificate and a TLS 1.2+ policy, port 80 only redirecting to it', () => {
    // Prepare
    const listeners = Object.values(resourcesOf(producerTemplate, 'AWS::ElasticLoadBalancingV2::Listener')).map(
      (listener) => listener.Properties,
    );
    const [securityGroup] = Object.entries(resourcesOf(producerTemplate, 'AWS::EC2::SecurityGroup'))
      .filter(([id]) => id.startsWith('ProducersLBSecurityGroup'))
      .map(([, group]) => group.Properties);

    // Assess
    producerTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    expect(listeners).toHaveLength(2);
    expect(listeners.find((listener) => listener.Port === 443)).toMatchObject({
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      DefaultActions: [{ Type: 'forward' }],
    });
    expect(listeners.find((listener) => listener.Port === 80)).toMatchObject({
      Protocol: 'HTTP',
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    });
    // In from PRODUCER_INGRESS_CIDR on the two listener ports, and nothing else.
    expect(
      ((securityGroup?.SecurityGroupIngress ?? []) as { CidrIp: string; FromPort: number; ToPort: number }[])
        .map(({ CidrIp, FromPort, ToPort }) => `${CidrIp}:${FromPort}-${ToPort}`)
        .sort(),
    ).toEqual(['0.0.0.0/0:443-443', '0.0.0.0/0:80-80']);
    synth.templates[1]!.template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 0);
  });

  it("gives the producer its API keys from a generated secret through the container's secrets, read by the execution role only", () => {
    // Prepare
    const [secretId, secret] = Object.entries(resourcesOf(producerTemplate, 'AWS::SecretsManager::Secret'))[0] ?? [];
    const [producer] = Object.values(resourcesOf(producerTemplate, 'AWS::ECS::TaskDefinition'))
      .flatMap((task) => task.Properties.ContainerDefinitions as Record<string, unknown>[])
      .filter((container) => container.Name === 'producer');
    const readers = (template: typeof producerTemplate) =>
      Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
        JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:'),
      );

    // Assess
    producerTemplate.resourceCountIs('AWS::SecretsManager::Secret', 1);
    // One key of 48 letters and digits: no comma or space, which would split it.
    expect(secret?.Properties.GenerateSecretString).toEqual({
      PasswordLength: 48,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
    expect(producer?.Secrets).toEqual([{ Name: 'API_KEYS', ValueFrom: { Ref: secretId } }]);
    expect(((producer?.Environment ?? []) as { Name: string }[]).map(({ Name }) => Name)).not.toContain('API_KEYS');
    expect(JSON.stringify(producerTemplate.toJSON())).not.toMatch(/"Name":"API_KEYS","Value"/);
    const policies = readers(producerTemplate);
    expect(policies).toHaveLength(1);
    expect(policies[0]?.Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^ProducerTaskExecutionRole/) }]);
    expect(statementsOf(producerTemplate, 'ProducerTaskExecutionRole')).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: secretId },
      }),
    );
    expect(readers(synth.templates[1]!.template)).toEqual([]);
  });

  it('runs every container with a read-only root file system and the metrics namespace and service name', () => {
    // Prepare
    const containers = synth.templates.flatMap(({ template }) =>
      Object.values(resourcesOf(template, 'AWS::ECS::TaskDefinition')).flatMap(
        (task) => task.Properties.ContainerDefinitions as Record<string, unknown>[],
      ),
    );
    const functions = synth.templates.flatMap(({ template }) =>
      Object.values(resourcesOf(template, 'AWS::Lambda::Function')).map(
        (fn) => (fn.Properties.Environment as { Variables: Record<string, string> }).Variables,
      ),
    );
    const variables = (container: Record<string, unknown>) =>
      Object.fromEntries((container.Environment as { Name: string; Value: string }[]).map((v) => [v.Name, v.Value]));

    // Assess
    expect(containers.map((container) => container.Name).sort()).toEqual(
      mode === 'ecs' ? ['consumer', 'consumer', 'producer'] : ['producer'],
    );
    for (const container of containers) {
      expect(container.ReadonlyRootFilesystem, String(container.Name)).toBe(true);
      expect(variables(container)).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'RecordsPipeline',
        POWERTOOLS_SERVICE_NAME: container.Name,
      });
    }
    expect(functions).toHaveLength(mode === 'lambda' ? 2 : 0);
    for (const environment of functions) {
      expect(environment).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'RecordsPipeline',
        POWERTOOLS_SERVICE_NAME: 'consumer',
      });
    }
  });

  it("sets the producer's encryption threads from its task's vCPUs: none for its one vCPU", () => {
    // Prepare
    const producers = synth.templates.flatMap(({ template }) =>
      Object.values(resourcesOf(template, 'AWS::ECS::TaskDefinition')).filter((task) =>
        (task.Properties.ContainerDefinitions as { Name: string }[]).some((container) => container.Name === 'producer'),
      ),
    );

    // Assess
    expect(producers).toHaveLength(1);
    const [task] = producers as unknown as {
      Properties: { Cpu: string; ContainerDefinitions: Record<string, unknown>[] };
    }[];
    expect(task?.Properties.Cpu).toBe('1024');
    expect(task?.Properties.ContainerDefinitions[0]?.Environment).toContainEqual({
      Name: 'ENCRYPT_THREADS',
      Value: '0',
    });
  });

  it("alarms in every region on the README's metrics, each notifying the stack's encrypted topic on alarm and on OK", () => {
    for (const { template, stack } of synth.templates) {
      // Prepare
      const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map(
        (alarm) => alarm.Properties as AlarmProperties,
      );
      const [topicId, topic] = Object.entries(resourcesOf(template, 'AWS::SNS::Topic'))[0] ?? [];
      const expected = expectedAlarms(mode, stack.region === 'us-east-1');

      // Assess
      expect(alarms.map((alarm) => alarm.MetricName).sort(), stack.region).toEqual(Object.keys(expected).sort());
      for (const alarm of alarms) {
        expect(alarm, alarm.MetricName).toMatchObject(expected[alarm.MetricName]!);
        expect(alarm.AlarmActions, alarm.MetricName).toEqual([{ Ref: topicId }]);
        expect(alarm.OKActions, alarm.MetricName).toEqual([{ Ref: topicId }]);
      }
      template.resourceCountIs('AWS::SNS::Topic', 1);
      expect(topic?.Properties.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^AlarmsTopicKey/), 'Arn'],
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      // CloudWatch may use the topic's key, so that its notifications can be encrypted.
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
    }
  });

  it('passes cdk-nag with no finding left unacknowledged, and acknowledges the open endpoint for what it is', () => {
    // Prepare
    const reasons = Object.entries(acknowledgmentsOf(synth.stacks[0]!));
    const about = (rule: string) => reasons.filter(([id]) => id.endsWith(rule)).flatMap(([, each]) => each);

    // Assess
    expect(synth.report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(synth.errors).toEqual([]);
    expect(about('EC23')).toEqual([
      expect.stringMatching(
        /HTTPS on port 443 \(port 80 only redirects to it\).*needs an API key from Secrets Manager/,
      ),
    ]);
    expect(about('ECS2').every((reason) => reason.includes('API keys come from Secrets Manager'))).toBe(true);
    expect(about('ECS2').length).toBeGreaterThan(0);
  });
});

describe('Command: cdk synth', () => {
  it('synthesizes every region with the CDK CLI, as pnpm deploy:aws does before it deploys', () => {
    // Prepare
    const output = mkdtempSync(join(tmpdir(), 'records-cdk-cli-'));

    // Act
    execFileSync(
      join(repositoryRoot, 'infra/node_modules/.bin/cdk'),
      ['synth', '--quiet', '--no-notices', '--output', output],
      {
        cwd: join(repositoryRoot, 'infra'),
        env: { ...process.env, ...ENV, CDK_DISABLE_VERSION_CHECK: 'true' },
        stdio: 'pipe',
        timeout: 240_000,
      },
    );

    // Assess
    const templates = readdirSync(output)
      .filter((file) => file.endsWith('.template.json'))
      .sort();
    expect(templates).toEqual(['RecordsPipeline-eu-west-1.template.json', 'RecordsPipeline-us-east-1.template.json']);
  }, 240_000);

  it('fails before synthesizing, naming PRODUCER_CERTIFICATE_ARN, when an internet-facing load balancer has no certificate', () => {
    // Prepare
    const { PRODUCER_CERTIFICATE_ARN: _certificate, ...withoutCertificate } = ENV;

    // Act
    const result = spawnSync(
      join(repositoryRoot, 'infra/node_modules/.bin/cdk'),
      ['synth', '--quiet', '--no-notices', '--output', mkdtempSync(join(tmpdir(), 'records-cdk-cli-'))],
      {
        cwd: join(repositoryRoot, 'infra'),
        env: { ...process.env, ...withoutCertificate, PRODUCER_CERTIFICATE_ARN: '', CDK_DISABLE_VERSION_CHECK: 'true' },
        encoding: 'utf8',
        timeout: 240_000,
      },
    );

    // Assess
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Cannot deploy: PRODUCER_CERTIFICATE_ARN: is required');
    expect(result.stderr).not.toContain('at loadDeployConfig');
    expect(result.stderr).toContain('PRODUCER_LOAD_BALANCER=internal');
  }, 240_000);
});
