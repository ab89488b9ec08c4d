import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StackProcess } from '@records/local-stack/testing';
import { descendantsCpu, partName, scrape } from './process-stats.js';

export interface ThroughputStep {
  readonly offeredPerSecond: number;
  /** Records answered 201 per second. */
  readonly acceptedPerSecond: number;
  /** Records written to the tables per second, per region, while the step ran and its backlog drained. */
  readonly storedPerSecond: number;
  readonly overloaded: number;
  /** CPU share of one core, by part, while the step ran. */
  readonly busiest: { readonly part: string; readonly coreShare: number };
  readonly saturated: boolean;
}

const BATCH = 50;

async function postBatch(url: string, count: number): Promise<{ accepted: number; overloaded: number }> {
  const body = Array.from({ length: count }, () =>
    JSON.stringify({ id: `tp-${randomUUID()}`, text: 'x'.repeat(200) }),
  ).join('\n');
  const response = await fetch(`${url}/records/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body,
  });
  const answer = (await response.json()) as { accepted?: number; error?: { code: string } };
  return { accepted: answer.accepted ?? 0, overloaded: answer.error?.code === 'OVERLOADED' ? count : 0 };
}

/**
 * Offers the pipeline records at each rate in turn (batches of 50, on a fixed schedule) until a
 * step is not kept up with: fewer records accepted or stored than offered, or any turned away.
 * The part that saturated is the process below `pnpm start` that used the most CPU in that step.
 */
export async function measureThroughput(
  running: StackProcess,
  options: { rates: readonly number[]; stepSeconds: number },
): Promise<ThroughputStep[]> {
  const { stack } = running;
  const consumers = stack.consumers.map((consumer) => consumer.url);
  const regions = Object.keys(stack.regions).length;
  const written = async () =>
    (await Promise.all(consumers.map((url) => scrape(url, 'consumer_records_written_total')))).reduce(
      (a, b) => a + b,
      0,
    );
  const steps: ThroughputStep[] = [];
  for (const rate of options.rates) {
    const batches = Math.max(1, Math.round((rate * options.stepSeconds) / BATCH));
    const cpuBefore = await descendantsCpu(running.pid);
    const writtenBefore = await written();
    const started = performance.now();
    const sent: Promise<{ accepted: number; overloaded: number }>[] = [];
    for (let index = 0; index < batches; index++) {
      const due = started + (index * BATCH * 1000) / rate;
      const early = due - performance.now();
      if (early > 1) await sleep(early);
      sent.push(postBatch(stack.producer.url, BATCH));
    }
    const results = await Promise.all(sent);
    const sendSeconds = (performance.now() - started) / 1000;
    const cpuAfter = await descendantsCpu(running.pid);
    const accepted = results.reduce((sum, result) => sum + result.accepted, 0);
    const overloaded = results.reduce((sum, result) => sum + result.overloaded, 0);
    // Stored: wait for the backlog, at most as long again as the step.
    const drainBy = performance.now() + options.stepSeconds * 2000;
    while (performance.now() < drainBy && (await written()) < writtenBefore + accepted * regions) await sleep(100);
    const storedSeconds = (performance.now() - started) / 1000;
    const stored = ((await written()) - writtenBefore) / regions;
    const byPart = new Map<string, number>();
    for (const [pid, after] of cpuAfter) {
      const used = after.cpuSeconds - (cpuBefore.get(pid)?.cpuSeconds ?? after.cpuSeconds);
      const part = partName(after.command);
      byPart.set(part, (byPart.get(part) ?? 0) + used / sendSeconds);
    }
    const [part, coreShare] = [...byPart].sort((a, b) => b[1] - a[1])[0] ?? ['none', 0];
    const acceptedPerSecond = accepted / sendSeconds;
    const storedPerSecond = stored / storedSeconds;
    const saturated = overloaded > 0 || acceptedPerSecond < 0.95 * rate || stored < 0.99 * accepted;
    steps.push({
      offeredPerSecond: rate,
      acceptedPerSecond,
      storedPerSecond,
      overloaded,
      busiest: { part, coreShare },
      saturated,
    });
    console.log(
      `throughput ${rate}/s: accepted ${acceptedPerSecond.toFixed(0)}/s, stored ${storedPerSecond.toFixed(0)}/s, busiest ${part} ${(coreShare * 100).toFixed(0)}% of a core`,
    );
    if (saturated) break;
  }
  return steps;
}
