const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'RequestThrottledException',
]);

interface SdkErrorShape {
  name?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * True for failures that say nothing about the request itself: throttling, server faults, and
 * network errors that never got an HTTP answer. Retrying these later can succeed.
 */
export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as SdkErrorShape;
  if (shape.$retryable !== undefined) return true;
  if (shape.name !== undefined && THROTTLING.has(shape.name)) return true;
  if (shape.$fault === 'server') return true;
  // A 429 or 5xx whose body is not the service's JSON (a proxy or load balancer answered) arrives
  // without $fault; it is as transient as the service's own.
  const status = shape.$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}
