import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { HttpCodeElb, HttpCodeTarget, type IApplicationLoadBalancer } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './service-environment.js';

/**
 * The metrics the services write in embedded metric format: namespace RecordsPipeline, dimensions
 * `service` (POWERTOOLS_SERVICE_NAME) and `stream`.
 */
const PIPELINE_METRICS = {
  consumerLag: 'consumer_millis_behind_latest',
  stalledShards: 'consumer_stalled_shards',
  deadLettered: 'consumer_records_dead_lettered',
  trimmedReadShort: 'consumer_trimmed_leases_read_short',
  oldestPendingHandoff: 'producer_handoff_oldest_pending_age_seconds',
} as const;

/** The 5xx answers of the load balancer, and of the producers behind it, in 5 minutes that alarm. */
const LOAD_BALANCER_5XX_THRESHOLD = 25;

export interface PipelineAlarmsProps {
  readonly streamName: string;
  /** The topic every alarm notifies; undefined: a topic of this stack's own, encrypted with a key of its own. */
  readonly topicArn?: string;
  /** CONSUMER_MODE=lambda: the handler and its on-failure queue. Else the ECS consumers' own metrics. */
  readonly lambda?: { readonly handler: LambdaFunction; readonly failures: Queue };
  /** The first region's producers: their load balancer and their hand-off. */
  readonly producers?: { readonly loadBalancer: IApplicationLoadBalancer };
}

const minutes = (count: number) => Duration.minutes(count);

/** One region's alarms, on what the README says to alert on; each notifies the topic on alarm and on OK. */
export class PipelineAlarms extends Construct {
  readonly topic: ITopic;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    this.topic = props.topicArn === undefined ? this.ownTopic() : Topic.fromTopicArn(this, 'Topic', props.topicArn);
    const pipeline = (service: 'consumer' | 'producer', metricName: string, statistic: 'Maximum' | 'Sum') =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service, stream: props.streamName },
        statistic,
        period: minutes(1),
      });
    // Counts and errors: no data means nothing happened. Gauges: no data is not "fine", but neither is
    // it an alarm; the alarm shows INSUFFICIENT_DATA.
    const counted = TreatMissingData.NOT_BREACHING;
    const gauged = TreatMissingData.MISSING;

    if (props.lambda === undefined) {
      this.alarm('ConsumerLag', pipeline('consumer', PIPELINE_METRICS.consumerLag, 'Maximum'), 60_000, 5, gauged);
      this.alarm('StalledShards', pipeline('consumer', PIPELINE_METRICS.stalledShards, 'Maximum'), 0, 3, gauged);
      this.alarm(
        'TrimmedLeasesReadShort',
        pipeline('consumer', PIPELINE_METRICS.trimmedReadShort, 'Sum'),
        0,
        1,
        counted,
      );
    } else {
      const { handler, failures } = props.lambda;
      this.alarm(
        'ConsumerLag',
        handler.metric('IteratorAge', { statistic: 'Maximum', period: minutes(1) }),
        60_000,
        5,
        gauged,
      );
      // No stalled-shard gauge in Lambda: a batch that cannot finish shows as errors (a crash or a
      // timeout; an outage of KMS or DynamoDB shows as lag instead, the handler reporting item failures).
      this.alarm('ConsumerErrors', handler.metricErrors({ statistic: 'Sum', period: minutes(1) }), 0, 5, counted);
      this.alarm(
        'ConsumerFailureQueue',
        failures.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minutes(1) }),
        0,
        1,
        counted,
      );
    }
    this.alarm('DeadLetters', pipeline('consumer', PIPELINE_METRICS.deadLettered, 'Sum'), 0, 1, counted);

    if (props.producers !== undefined) {
      const { metrics } = props.producers.loadBalancer;
      const fiveMinutes = { statistic: 'Sum', period: minutes(5) };
      this.alarm(
        'LoadBalancer5xx',
        metrics.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, fiveMinutes),
        LOAD_BALANCER_5XX_THRESHOLD,
        1,
        counted,
      );
      this.alarm(
        'Producer5xx',
        metrics.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, fiveMinutes),
        LOAD_BALANCER_5XX_THRESHOLD,
        1,
        counted,
      );
      this.alarm(
        'OldestPendingHandoff',
        pipeline('producer', PIPELINE_METRICS.oldestPendingHandoff, 'Maximum'),
        300,
        5,
        gauged,
      );
    }
  }

  /** CloudWatch publishes to an encrypted topic only with a customer managed key that lets it. */
  private ownTopic(): ITopic {
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the pipeline alarm notifications',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    return new Topic(this, 'Topic', { displayName: 'Records pipeline alarms', masterKey: key, enforceSSL: true });
  }

  /** Alarms when the metric exceeds `threshold` in `periods` periods in a row. */
  private alarm(id: string, metric: IMetric, threshold: number, periods: number, missing: TreatMissingData): Alarm {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: missing,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  }
}
