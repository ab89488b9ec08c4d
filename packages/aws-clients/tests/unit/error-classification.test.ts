import { isTransientAwsError } from '@records/aws-clients';
import { describe, expect, it } from 'vitest';

function sdkError(name: string, fault: 'client' | 'server', status: number) {
  return Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });
}

describe('Function: isTransientAwsError', () => {
  it.each([
    ['a throttled request', sdkError('ThrottlingException', 'client', 400)],
    ['a provisioned throughput error', sdkError('ProvisionedThroughputExceededException', 'client', 400)],
    ['a server fault', sdkError('KMSInternalException', 'server', 500)],
    ['a connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
  ])('returns true for %s', (_name, error) => {
    expect(isTransientAwsError(error)).toBe(true);
  });

  it.each([
    ['an invalid ciphertext', sdkError('InvalidCiphertextException', 'client', 400)],
    ['an access denied', sdkError('AccessDeniedException', 'client', 400)],
    ['a validation error', sdkError('ValidationException', 'client', 400)],
    ['a non-error', 'boom'],
  ])('returns false for %s', (_name, error) => {
    expect(isTransientAwsError(error)).toBe(false);
  });
});
