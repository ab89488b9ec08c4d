import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { actionsOf, ENV, ensureLambdaBundle, repositoryRoot, statementsOf, synthesize } from './support.js';

/** The variables the README's configuration table documents. */
function documentedVariables(): Set<string> {
  const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Metrics'));
  return new Set([...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1] as string));
}

describe('App: the pipeline on AWS, with ECS consumers', () => {
  let synth: ReturnType<typeof synthesize>;
  beforeAll(() => {
    synth = synthesize();
  }, 120_000);

  it('synthesizes one stack per region: its key and alias, its stream encrypted at rest with KMS, and three tables', () => {
    // Assess
    expect(synth.templates.map(({ region }) => region)).toEqual(['us-east-1', 'eu-west-1']);
    for (const { template } of synth.templates) {
      template.resourceCountIs('AWS::KMS::Key', 2);
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
    const statements = statementsOf(synth.templates[0]!.template, 'ProducersTaskDefTaskRole');
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
      for (const statement of decrypts) {
        // Keys of this stack only: the record key (on the stream's context) and the stream's at-rest key.
        expect(onlyOwn(statement.Resource), JSON.stringify(statement.Resource)).toBe(true);
      }
      expect(decrypts.find((statement) => statement.Sid === 'UnwrapWithThisRegionsKeyOnly')?.Condition).toEqual({
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
  let synth: ReturnType<typeof synthesize>;
  beforeAll(() => {
    ensureLambdaBundle();
    synth = synthesize({ CONSUMER_MODE: 'lambda' });
  }, 120_000);

  it('runs the handler on a Kinesis event source mapping that reports item failures, bisects, ages out and sends failures on', () => {
    for (const { template } of synth.templates) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRecordAgeInSeconds: 86_400,
        StartingPosition: 'TRIM_HORIZON',
        DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      });
      template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler' });
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
});
