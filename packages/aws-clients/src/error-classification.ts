import { isRetryableByTrait, isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';

interface SdkErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * True for failures that say nothing about the request itself: throttling, server faults, timeouts
 * and network errors, as the AWS SDK's own classification (the one its retry strategy uses) sees
 * them. Retrying these later can succeed.
 *
 * Our one rule beside it: a 429 or 5xx whose body is not the service's (a proxy or load balancer
 * answered) arrives without the SDK's markings, and an error with no HTTP answer at all never
 * reached the service; both are as transient as the service's own.
 */
export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const sdkError = error as SdkError;
  if (isRetryableByTrait(sdkError) || isThrottlingError(sdkError) || isTransientError(sdkError)) return true;
  if (isServerError(sdkError)) return true;
  const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}
