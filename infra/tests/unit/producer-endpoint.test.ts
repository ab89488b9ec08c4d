import { beforeAll, describe, expect, it } from 'vitest';
import { acknowledgmentsOf, resourcesOf, statementsOf, synthesize } from './support.js';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:records/api-keys-AbC123';
const topic = (region: string) => `arn:aws:sns:${region}:123456789012:records-alarms`;

type Synth = ReturnType<typeof synthesize>;
type Container = { Name: string; Secrets?: unknown; Environment: { Name: string }[] };

const producerContainer = (synth: Synth) =>
  Object.values(resourcesOf(synth.templates[0]!.template, 'AWS::ECS::TaskDefinition'))
    .flatMap((task) => task.Properties.ContainerDefinitions as Container[])
    .find((container) => container.Name === 'producer');

describe('App: an internal load balancer, API keys from a named secret, alarms to given topics', () => {
  let synth: Synth;
  beforeAll(() => {
    synth = synthesize({
      PRODUCER_CERTIFICATE_ARN: '',
      PRODUCER_LOAD_BALANCER: 'internal',
      API_KEYS_SECRET_ARN: SECRET_ARN,
      ALARM_TOPIC_ARN: `${topic('us-east-1')},${topic('eu-west-1')}`,
    });
  }, 120_000);

  it('serves HTTP on port 80 on an internal load balancer, reachable from the VPC only', () => {
    // Prepare
    const template = synth.templates[0]!.template;
    const listeners = Object.values(resourcesOf(template, 'AWS::ElasticLoadBalancingV2::Listener'));
    const [securityGroup] = Object.entries(resourcesOf(template, 'AWS::EC2::SecurityGroup'))
      .filter(([id]) => id.startsWith('ProducersLBSecurityGroup'))
      .map(([, group]) => group.Properties);

    // Assess
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    expect(listeners.map((listener) => listener.Properties)).toEqual([
      expect.objectContaining({
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [expect.objectContaining({ Type: 'forward' })],
      }),
    ]);
    expect(securityGroup?.SecurityGroupIngress).toEqual([
      expect.objectContaining({
        CidrIp: '10.0.0.0/16',
        FromPort: 80,
        ToPort: 80,
      }),
    ]);
  });

  it('passes the named secret to the producer, readable by its execution role, and creates none', () => {
    // Prepare
    const template = synth.templates[0]!.template;

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(producerContainer(synth)?.Secrets).toEqual([{ Name: 'API_KEYS', ValueFrom: SECRET_ARN }]);
    expect(statementsOf(template, 'ProducerTaskExecutionRole')).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: SECRET_ARN,
      }),
    );
    expect(JSON.stringify(statementsOf(template, 'ProducerTaskTaskRole'))).not.toContain('secretsmanager:');
  });

  it("notifies each region's given topic, and creates no topic of its own", () => {
    for (const { template, region } of synth.templates) {
      // Prepare
      const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'));

      // Assess
      template.resourceCountIs('AWS::SNS::Topic', 0);
      expect(alarms.length, region).toBeGreaterThan(0);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([topic(region)]);
        expect(alarm.Properties.OKActions).toEqual([topic(region)]);
      }
    }
  });

  it('passes cdk-nag with no finding left unacknowledged', () => {
    // Assess
    expect(synth.report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(synth.errors).toEqual([]);
  });
});

describe('App: a public API without keys, chosen with PRODUCER_ALLOW_ANONYMOUS=true', () => {
  let synth: Synth;
  beforeAll(() => {
    synth = synthesize({ PRODUCER_ALLOW_ANONYMOUS: 'true' });
  }, 120_000);

  it('gives the producer no API_KEYS at all, still behind HTTPS, and says so in its cdk-nag acknowledgment', () => {
    // Prepare
    const template = synth.templates[0]!.template;
    const container = producerContainer(synth);
    const reasons = Object.entries(acknowledgmentsOf(synth.stacks[0]!))
      .filter(([id]) => id.endsWith('EC23'))
      .flatMap(([, each]) => each);

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(container?.Secrets).toBeUndefined();
    expect(container?.Environment.map(({ Name }) => Name)).not.toContain('API_KEYS');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
    expect(reasons).toEqual([expect.stringContaining('with no API key (PRODUCER_ALLOW_ANONYMOUS=true)')]);
    expect(synth.report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});
