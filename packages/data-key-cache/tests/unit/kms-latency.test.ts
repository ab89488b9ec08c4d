import { describe, expect, it } from 'vitest';
import { KmsLatency, LATENCY_WINDOW } from '../../src/kms-latency.js';

describe('Class: KmsLatency', () => {
  it('returns 0 before any call was measured', () => {
    // Act
    const latency = new KmsLatency();

    // Assess
    expect(latency.ms).toBe(0);
  });

  it('returns the slowest recent call, not the mean', () => {
    // Prepare
    const latency = new KmsLatency();

    // Act
    for (const ms of [20, 20, 90, 20, 20]) latency.record(ms);

    // Assess
    expect(latency.ms).toBe(90);
  });

  it('returns a lower latency once a slow call is 16 calls old', () => {
    // Prepare
    const latency = new KmsLatency();
    latency.record(500);

    // Act
    for (let call = 0; call < LATENCY_WINDOW - 1; call++) latency.record(20);
    const whileRemembered = latency.ms;
    latency.record(20);

    // Assess
    expect(whileRemembered).toBe(500);
    expect(latency.ms).toBe(20);
  });
});
