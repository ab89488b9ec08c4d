import { Counter, Histogram, type Registry } from 'prom-client';
import type { AwsRequestObserver } from './request-observer.js';

/**
 * Counts and times AWS requests. KMS gets its own metric names because KMS calls are what the
 * data key cache exists to save; the other services share `aws_requests_total`.
 */
export function createAwsRequestMetrics(registry: Registry): AwsRequestObserver {
  const kmsRequests = new Counter({
    name: 'kms_requests_total',
    help: 'KMS requests sent, every attempt counted, by operation, region and outcome.',
    labelNames: ['operation', 'region', 'outcome'] as const,
    registers: [registry],
  });
  const kmsDuration = new Histogram({
    name: 'kms_request_duration_seconds',
    help: 'Duration of KMS requests, by operation and region.',
    labelNames: ['operation', 'region'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const awsRequests = new Counter({
    name: 'aws_requests_total',
    help: 'Kinesis and DynamoDB requests sent, every attempt counted, by service, operation, region and outcome.',
    labelNames: ['service', 'operation', 'region', 'outcome'] as const,
    registers: [registry],
  });
  return (event) => {
    if (event.service === 'kms') {
      kmsRequests.inc({ operation: event.operation, region: event.region, outcome: event.outcome });
      kmsDuration.observe({ operation: event.operation, region: event.region }, event.durationSeconds);
    } else {
      awsRequests.inc({
        service: event.service,
        operation: event.operation,
        region: event.region,
        outcome: event.outcome,
      });
    }
  };
}
