import { PipelineError } from '@records/errors';
import { describe, expect, it } from 'vitest';
import { ClockSkewedError, ProducerError, ProducerErrors, StreamUnavailableError } from '../../src/errors.js';

describe('Module: the producer errors', () => {
  it('declares each code once with its status, and names each error after its code for logs', () => {
    // Prepare
    const raised = [
      new ProducerErrors.OVERLOADED(),
      new ProducerErrors.KMS_TIMEOUT(),
      new ProducerErrors.INVALID_JSON('the body is not valid JSON'),
      new ProducerErrors.BATCH_TOO_LARGE(500),
      new StreamUnavailableError('r-1', ['eu-west-1']),
      new ClockSkewedError(10_000),
    ];

    // Act
    const described = raised.map((error) => ({
      name: error.name,
      code: error.code,
      status: error.statusCode,
      retryAfterMs: error.retryAfterMs,
    }));

    // Assess
    expect(raised.every((error) => error instanceof ProducerError && error instanceof PipelineError)).toBe(true);
    expect(described).toEqual([
      { name: 'OverloadedError', code: 'OVERLOADED', status: 503, retryAfterMs: undefined },
      { name: 'KmsTimeoutError', code: 'KMS_TIMEOUT', status: 503, retryAfterMs: undefined },
      { name: 'InvalidJsonError', code: 'INVALID_JSON', status: 400, retryAfterMs: undefined },
      { name: 'BatchTooLargeError', code: 'BATCH_TOO_LARGE', status: 413, retryAfterMs: undefined },
      { name: 'StreamUnavailableError', code: 'STREAM_UNAVAILABLE', status: 503, retryAfterMs: undefined },
      { name: 'ClockSkewedError', code: 'CLOCK_SKEWED', status: 503, retryAfterMs: 10_000 },
    ]);
    expect(raised[3]?.message).toBe('a batch holds at most 500 records');
    expect(Object.values(ProducerErrors).every((declared) => declared.name.endsWith('Error'))).toBe(true);
    expect(Object.keys(ProducerErrors).length).toBeGreaterThan(20);
  });
});
