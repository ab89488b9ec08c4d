import { describe, expect, it } from 'vitest';
import { loadDeployConfig } from '../../src/config.js';
import { CERTIFICATE_ARN, ENV } from './support.js';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:records/api-keys-AbC123';
const { PRODUCER_CERTIFICATE_ARN: _certificate, ...WITHOUT_CERTIFICATE } = ENV;

describe('Function: loadDeployConfig', () => {
  it('returns an internet-facing HTTPS endpoint open to 0.0.0.0/0 with a generated API key secret by default', () => {
    // Act
    const config = loadDeployConfig(ENV);

    // Assess
    expect(config.producerEndpoint).toEqual({
      scheme: 'internet-facing',
      certificateArn: CERTIFICATE_ARN,
      ingressCidr: '0.0.0.0/0',
      apiKeys: { kind: 'generated' },
    });
    expect(config.alarmTopicArns).toBeUndefined();
  });

  it('refuses an internet-facing load balancer without a certificate, naming the variable and the internal alternative', () => {
    // Act
    const act = () => loadDeployConfig(WITHOUT_CERTIFICATE);

    // Assess
    expect(act).toThrow(expect.objectContaining({ variable: 'PRODUCER_CERTIFICATE_ARN' }));
    expect(act).toThrow(/is required: .*HTTPS only.*PRODUCER_LOAD_BALANCER=internal/);
  });

  it('refuses a certificate of another region than the first, and a malformed ARN', () => {
    // Act
    const elsewhere = () =>
      loadDeployConfig({ ...ENV, PRODUCER_CERTIFICATE_ARN: CERTIFICATE_ARN.replace('us-east-1', 'eu-west-1') });
    const malformed = () => loadDeployConfig({ ...ENV, PRODUCER_CERTIFICATE_ARN: 'my-certificate' });

    // Assess
    expect(elsewhere).toThrow('PRODUCER_CERTIFICATE_ARN: must be a certificate in us-east-1');
    expect(malformed).toThrow('PRODUCER_CERTIFICATE_ARN: must be the ARN of an ACM certificate');
  });

  it('returns an internal HTTP endpoint open to the VPC only when PRODUCER_LOAD_BALANCER=internal has no certificate', () => {
    // Act
    const config = loadDeployConfig({ ...WITHOUT_CERTIFICATE, PRODUCER_LOAD_BALANCER: 'internal' });

    // Assess
    expect(config.producerEndpoint).toEqual({ scheme: 'internal', apiKeys: { kind: 'generated' } });
    expect(() => loadDeployConfig({ ...ENV, PRODUCER_LOAD_BALANCER: 'private' })).toThrow(
      expect.objectContaining({ variable: 'PRODUCER_LOAD_BALANCER' }),
    );
  });

  it('refuses API_KEYS in the deploy environment without quoting it, which would put the keys in the template', () => {
    // Prepare
    const key = 'k'.repeat(32);

    // Act
    const act = () => loadDeployConfig({ ...ENV, API_KEYS: key });

    // Assess
    expect(act).toThrow(/API_KEYS: is not deployed from the environment: .*API_KEYS_SECRET_ARN/);
    expect(act).not.toThrow(key);
  });

  it('takes the API keys from the named secret, or none only when PRODUCER_ALLOW_ANONYMOUS=true, never both', () => {
    // Act
    const named = loadDeployConfig({ ...ENV, API_KEYS_SECRET_ARN: SECRET_ARN });
    const anonymous = loadDeployConfig({ ...ENV, PRODUCER_ALLOW_ANONYMOUS: 'true' });
    const both = () => loadDeployConfig({ ...ENV, API_KEYS_SECRET_ARN: SECRET_ARN, PRODUCER_ALLOW_ANONYMOUS: 'true' });
    const partial = () => loadDeployConfig({ ...ENV, API_KEYS_SECRET_ARN: SECRET_ARN.slice(0, -7) });

    // Assess
    expect(named.producerEndpoint.apiKeys).toEqual({ kind: 'secret', secretArn: SECRET_ARN });
    expect(anonymous.producerEndpoint.apiKeys).toEqual({ kind: 'anonymous' });
    expect(both).toThrow('PRODUCER_ALLOW_ANONYMOUS: cannot be true beside API_KEYS_SECRET_ARN');
    expect(partial).toThrow('API_KEYS_SECRET_ARN: must be the complete ARN of a Secrets Manager secret');
  });

  it('takes one alarm topic per region, and refuses a list that misses a region', () => {
    // Prepare
    const topic = (region: string) => `arn:aws:sns:${region}:123456789012:records-alarms`;

    // Act
    const config = loadDeployConfig({ ...ENV, ALARM_TOPIC_ARN: `${topic('eu-west-1')},${topic('us-east-1')}` });
    const missing = () => loadDeployConfig({ ...ENV, ALARM_TOPIC_ARN: topic('us-east-1') });
    const stray = () =>
      loadDeployConfig({
        ...ENV,
        ALARM_TOPIC_ARN: `${topic('us-east-1')},${topic('eu-west-1')},${topic('us-west-2')}`,
      });

    // Assess
    expect(config.alarmTopicArns).toEqual({ 'us-east-1': topic('us-east-1'), 'eu-west-1': topic('eu-west-1') });
    expect(missing).toThrow('ALARM_TOPIC_ARN: has no topic in eu-west-1');
    expect(stray).toThrow(expect.objectContaining({ variable: 'ALARM_TOPIC_ARN' }));
  });
});
