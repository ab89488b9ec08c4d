import type { Registry } from 'prom-client';
import { atRate, type LatencySummary, summarize } from './pacing.js';
import { type ProducerStack, startProducer } from './producer-stack.js';

export interface PostRow extends LatencySummary {
  readonly ratePerSecond: number;
  readonly refresh: string;
  readonly requests: number;
  /** Requests after warm-up whose encrypt waited on KMS (miss or coalesced), from the app's metrics. */
  readonly waitedOnKms: number;
  /** Answers other than 201. */
  readonly failed: number;
  readonly dataKeys: number;
}

/** `datakey_cache_requests_total{operation="encrypt", result="miss"|"coalesced"}` in the app's registry. */
async function waitedOnKms(registry: Registry): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((each) => each.name === 'datakey_cache_requests_total');
  return (metric?.values ?? [])
    .filter(
      (sample) =>
        sample.labels.operation === 'encrypt' &&
        (sample.labels.result === 'miss' || sample.labels.result === 'coalesced'),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

async function post(url: string, index: number): Promise<boolean> {
  const response = await fetch(`${url}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ bench: 'post-records', index, text: 'x'.repeat(100) }),
  });
  await response.arrayBuffer();
  return response.status === 201;
}

/**
 * POST /records over loopback HTTP to a fresh producer at a fixed rate, after a warm-up of three
 * data keys sent one at a time.
 */
export async function measurePostLatency(
  stack: ProducerStack,
  options: { requests: number; ratePerSecond: number; maxMessages: number; refreshAhead: boolean },
): Promise<PostRow> {
  const producer = await startProducer(stack, options);
  try {
    for (let index = 0; index < 3 * options.maxMessages; index++) await post(producer.url, index);
    const waitedBefore = await waitedOnKms(producer.registry);
    stack.proxy.resetCounts();
    let failed = 0;
    const durations = await atRate(options.requests, options.ratePerSecond, async (index) => {
      if (!(await post(producer.url, index))) failed += 1;
    });
    return {
      ratePerSecond: options.ratePerSecond,
      refresh: options.refreshAhead ? 'adaptive' : 'off',
      requests: options.requests,
      ...summarize(durations),
      waitedOnKms: (await waitedOnKms(producer.registry)) - waitedBefore,
      failed,
      dataKeys: stack.proxy.count({ operation: 'GenerateDataKey' }),
    };
  } finally {
    await producer.close();
  }
}
