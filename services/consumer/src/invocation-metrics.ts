import type { Metrics } from '@aws-lambda-powertools/metrics';
import { type EmfValue, publishEmf, RegistryEmfReader } from '@records/observability';
import type { KinesisStreamEvent } from 'aws-lambda';
import type { Registry } from 'prom-client';
import { streamNameOf } from './kinesis-event-handler.js';
import { LAMBDA_EMF_SERIES } from './metrics.js';

export interface InvocationMetricsDeps {
  /** The execution environment's registry, which the record pipeline counts in. */
  readonly registry: Registry;
  readonly metrics: Metrics;
}

/**
 * The Lambda handler's metrics, one EMF line per stream of an invocation: what it wrote,
 * dead-lettered and skipped as stale (counted since the previous invocation of this execution
 * environment, which runs one invocation at a time), and how far behind the stream's tip the event
 * was when it arrived (now less its oldest record's approximateArrivalTimestamp, as the poller's
 * consumer_millis_behind_latest). An event source mapping reads one stream; should an event carry
 * records of several, the counts go with the first, and each gets its own lag.
 */
export function createInvocationMetrics(deps: InvocationMetricsDeps) {
  const counts = new RegistryEmfReader(deps.registry, LAMBDA_EMF_SERIES);
  return async function publish(event: KinesisStreamEvent, receivedAt: number): Promise<void> {
    const oldestArrival = new Map<string, number>();
    for (const record of event.Records) {
      const stream = streamNameOf(record.eventSourceARN);
      if (stream === undefined) continue;
      const arrivedAt = record.kinesis.approximateArrivalTimestamp * 1000;
      oldestArrival.set(stream, Math.min(oldestArrival.get(stream) ?? arrivedAt, arrivedAt));
    }
    const counted = await counts.read();
    let first = true;
    for (const [stream, arrivedAt] of oldestArrival) {
      const lag: EmfValue = {
        name: 'consumer_millis_behind_latest',
        unit: 'Milliseconds',
        value: Math.max(0, receivedAt - arrivedAt),
      };
      publishEmf(deps.metrics, { stream }, first ? [lag, ...counted] : [lag]);
      first = false;
    }
  };
}
