import { expect } from 'vitest';
import type { ConsumerMode } from '../../src/config.js';

export type AlarmProperties = Record<string, unknown> & {
  MetricName: string;
  AlarmActions: unknown;
  OKActions: unknown;
};

/** The expected alarm per metric name: how it is measured and when it fires. */
export function expectedAlarms(mode: ConsumerMode, first: boolean): Record<string, Record<string, unknown>> {
  const pipeline = (service: string) => ({
    Namespace: 'RecordsPipeline',
    Dimensions: [
      { Name: 'service', Value: service },
      { Name: 'stream', Value: 'records' },
    ],
    Period: 60,
  });
  const over = (threshold: number, periods: number, statistic: string, missing: string) => ({
    Threshold: threshold,
    EvaluationPeriods: periods,
    DatapointsToAlarm: periods,
    Statistic: statistic,
    ComparisonOperator: 'GreaterThanThreshold',
    TreatMissingData: missing,
  });
  const consumers: Record<string, Record<string, unknown>> = mode === 'ecs'
    ? {
        consumer_millis_behind_latest: { ...pipeline('consumer'), ...over(60_000, 5, 'Maximum', 'missing') },
        consumer_stalled_shards: { ...pipeline('consumer'), ...over(0, 3, 'Maximum', 'missing') },
        consumer_trimmed_leases_read_short: { ...pipeline('consumer'), ...over(0, 1, 'Sum', 'notBreaching') },
      }
    : {
        IteratorAge: {
          Namespace: 'AWS/Lambda',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: expect.stringMatching(/^Consumer/) } }],
          Period: 60,
          ...over(60_000, 5, 'Maximum', 'missing'),
        },
        Errors: {
          Namespace: 'AWS/Lambda',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: expect.stringMatching(/^Consumer/) } }],
          Period: 60,
          ...over(0, 5, 'Sum', 'notBreaching'),
        },
        ApproximateNumberOfMessagesVisible: {
          Namespace: 'AWS/SQS',
          Dimensions: [
            { Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^ConsumerFailures/), 'QueueName'] } },
          ],
          Period: 60,
          ...over(0, 1, 'Maximum', 'notBreaching'),
        },
      };
  const loadBalancer = {
    Namespace: 'AWS/ApplicationELB',
    Dimensions: [
      {
        Name: 'LoadBalancer',
        Value: { 'Fn::GetAtt': [expect.stringMatching(/^ProducersLB/), 'LoadBalancerFullName'] },
      },
    ],
    Period: 300,
    ...over(25, 1, 'Sum', 'notBreaching'),
  };
  return {
    ...consumers,
    consumer_records_dead_lettered: { ...pipeline('consumer'), ...over(0, 1, 'Sum', 'notBreaching') },
    ...(first
      ? {
          HTTPCode_ELB_5XX_Count: loadBalancer,
          HTTPCode_Target_5XX_Count: loadBalancer,
          producer_handoff_oldest_pending_age_seconds: {
            ...pipeline('producer'),
            ...over(300, 5, 'Maximum', 'missing'),
          },
        }
      : {}),
  };
}
