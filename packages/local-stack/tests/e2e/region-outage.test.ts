import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { AwsClients } from '@records/aws-clients';
import { type EmulatorSet, startEmulatorSet } from '@records/local-stack';
import { eventually, KmsProxy, type StackProcess, startStackProcess } from '@records/local-stack/testing';
import { DEFAULT_REGIONS } from '@records/pipeline-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type Phase = 'before' | 'refused' | 'silent' | 'after';

interface Answer {
  readonly phase: Phase;
  readonly status: number;
  readonly ms: number;
}

const [HEALTHY, CUT] = DEFAULT_REGIONS;
const CUT_MS = 30_000;
const CLIENTS = 8;

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

describe('Command: pnpm start with two producers, while one region stream is cut', () => {
  let kinesis: EmulatorSet;
  let proxy: KmsProxy;
  let running: StackProcess;
  let clients: AwsClients;

  beforeAll(async () => {
    // kinesis-local behind a proxy that can cut one region's requests, as the stack's Kinesis
    kinesis = await startEmulatorSet({
      regions: DEFAULT_REGIONS,
      services: { kinesis: true, dynamodb: false, kms: false },
    });
    proxy = await KmsProxy.start(kinesis.endpoints.kinesis as string);
    running = await startStackProcess({
      AWS_ENDPOINT_URL_KINESIS: proxy.url,
      PRODUCERS: '2',
      HANDOFF_AFTER_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    clients = new AwsClients({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: {
        dynamodb: Object.fromEntries(Object.entries(running.stack.regions).map(([region, e]) => [region, e.dynamodb])),
      },
    });
  });

  afterAll(async () => {
    clients?.destroy();
    await running?.stop();
    await proxy?.close();
    await kinesis?.stop();
  });

  /** Status 0 when no answer came: the producer killed below refuses connections until it is back. */
  async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    try {
      const response = await fetch(`${url}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch {
      return { status: 0, body: {} };
    }
  }

  /** Each id's `v` as stored in a region's table, for every id found. */
  async function storedVersions(region: string, ids: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const table = running.stack.table;
    for (let start = 0; start < ids.length; start += 100) {
      let keys: Record<string, any>[] = ids.slice(start, start + 100).map((id) => ({ id: { S: id } }));
      while (keys.length > 0) {
        const page = await clients
          .dynamodb(region)
          .send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of page.Responses?.[table] ?? []) found.set(item.id?.S as string, Number(item.v?.N ?? '0'));
        keys = (page.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, any>[];
      }
    }
    return found;
  }

  async function handoffEntries(): Promise<number> {
    let entries = 0;
    for (const region of DEFAULT_REGIONS) {
      const { Items = [] } = await clients
        .dynamodb(region)
        .send(new ScanCommand({ TableName: `${running.stack.table}-handoff` }));
      entries += Items.length;
    }
    return entries;
  }

  const metricsOf = async (index: number) =>
    fetch(`${running.stack.producers[index]?.metricsUrl}/metrics`).then(
      (response) => response.text(),
      () => '',
    );

  it('answers 201 through refused and silent cuts, then delivers every record at its latest version', async () => {
    // Prepare: 8 clients post steadily, alternating producers; versioned updates of 50 ids go on
    // during the silent cut, each version after the previous one's 201, on the other producer
    const producers = running.stack.producers.map((producer) => producer.url);
    expect(producers).toHaveLength(2);
    let phase: Phase = 'before';
    const answers: Answer[] = [];
    const acknowledged = new Set<string>();
    let stop = false;
    const client = async (index: number) => {
      for (let n = 0; !stop; n++) {
        const id = `outage-${index}-${n}-${randomUUID()}`;
        const started = performance.now();
        const at = phase;
        const { status } = await post(producers[n % 2] as string, { id, v: 1, client: index });
        answers.push({ phase: at, status, ms: performance.now() - started });
        if (status === 201) acknowledged.add(id);
        await sleep(150);
      }
    };
    const versioned = Array.from({ length: 50 }, (_, index) => `versioned-${index}-${randomUUID()}`);
    const postVersions = async () => {
      for (let v = 1; v <= 5; v++) {
        for (const [index, id] of versioned.entries()) {
          const answer = await eventually(async () => {
            const result = await post(producers[(index + v) % 2] as string, { id, v });
            return result.status === 201 ? result : undefined;
          }, 40);
          expect(answer.status).toBe(201);
        }
      }
    };

    // Act: refused for 30 s, then silent for 30 s, then back
    const load = Array.from({ length: CLIENTS }, (_, index) => client(index));
    await sleep(3_000);
    phase = 'refused';
    proxy.cutRegion(CUT, 'refuse');
    await sleep(CUT_MS);
    phase = 'silent';
    proxy.cutRegion(CUT, 'silent');
    const versions = postVersions();
    await sleep(CUT_MS / 2);
    const readyDuringCut = await Promise.all(producers.map(async (url) => (await fetch(`${url}/readyz`)).status));
    const pendingDuringCut = metric(await metricsOf(0), 'producer_handoff_pending_entries', { target_region: CUT });
    await sleep(CUT_MS / 2);
    await versions;
    const oldestAtRecovery = Math.max(
      ...(await Promise.all(
        [0, 1].map(async (index) =>
          metric(await metricsOf(index), 'producer_handoff_oldest_pending_age_seconds', { target_region: CUT }),
        ),
      )),
    );
    phase = 'after';
    proxy.restore();
    const restoredAt = performance.now();
    // Kill one producer while it delivers: its claims run out and the other (or it, restarted) delivers them
    const killedPid = running.stack.producers[1]?.pid as number;
    await eventually(
      async () =>
        metric(await metricsOf(1), 'producer_handoff_delivered_total', { target_region: CUT }) > 0 ? true : undefined,
      200,
      50,
    );
    process.kill(killedPid, 'SIGKILL');
    await sleep(2_000);
    stop = true;
    await Promise.all(load);
    await eventually(async () => ((await handoffEntries()) === 0 ? true : undefined), 480);
    const drainedMs = performance.now() - restoredAt;

    // Assess: at least 99% of the POSTs during the cuts were acknowledged, readiness stayed green,
    // every acknowledged record is in every region, each versioned id at version 5, nothing left waiting
    const duringCuts = answers.filter((answer) => answer.phase === 'refused' || answer.phase === 'silent');
    const accepted = duringCuts.filter((answer) => answer.status === 201);
    expect(duringCuts.length).toBeGreaterThan(100);
    expect(accepted.length / duringCuts.length).toBeGreaterThanOrEqual(0.99);
    expect(readyDuringCut).toEqual([200, 200]);
    expect(pendingDuringCut).toBeGreaterThan(0);
    const ids = [...acknowledged];
    await eventually(async () => {
      for (const region of DEFAULT_REGIONS) {
        const stored = await storedVersions(region, ids);
        if (stored.size !== ids.length) return undefined;
        const latest = await storedVersions(region, versioned);
        if (versioned.some((id) => latest.get(id) !== 5)) return undefined;
      }
      return true;
    }, 240);
    for (const region of DEFAULT_REGIONS) {
      expect((await storedVersions(region, ids)).size, region).toBe(ids.length);
      const latest = await storedVersions(region, versioned);
      expect(
        versioned.filter((id) => latest.get(id) !== 5),
        region,
      ).toEqual([]);
    }
    await eventually(async () => {
      const texts = await Promise.all([0, 1].map(metricsOf));
      return texts.every(
        (text) => text !== '' && metric(text, 'producer_handoff_pending_entries', { target_region: CUT }) === 0,
      )
        ? true
        : undefined;
    });
    expect(await handoffEntries()).toBe(0);
    const latencies = (which: Phase) => answers.filter((a) => a.phase === which && a.status === 201).map((a) => a.ms);
    console.info(
      `[region-outage] ${HEALTHY} healthy, ${CUT} cut: ${duringCuts.length} POSTs during the cuts, ` +
        `${accepted.length} answered 201; refused p50 ${percentile(latencies('refused'), 50).toFixed(0)} ms ` +
        `p99 ${percentile(latencies('refused'), 99).toFixed(0)} ms; silent p50 ${percentile(latencies('silent'), 50).toFixed(0)} ms ` +
        `p99 ${percentile(latencies('silent'), 99).toFixed(0)} ms; oldest pending at recovery ${oldestAtRecovery.toFixed(1)} s; ` +
        `drained in ${(drainedMs / 1000).toFixed(1)} s (one producer killed with SIGKILL while delivering)`,
    );
  });
});
