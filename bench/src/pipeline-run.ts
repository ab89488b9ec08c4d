import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AlgorithmSuiteIdentifier } from '@aws-crypto/client-node';
import { AwsClients } from '@records/aws-clients';
import { multiRegionKeyring, regionKeyring, resolveWrappingKeys } from '@records/envelope';
import { loadPipelineSettings } from '@records/pipeline-config';
import { exampleShapeUs, rawLoops } from './cpu-per-record.js';
import { atRate, summarize } from './pacing.js';
import { startPipelineStack } from './pipeline-stack.js';
import { histogram, peakRss, quantile, scrape } from './process-stats.js';
import { type AtLoadRow, type AtLoadRun, measureAtLoad } from './producer-at-load.js';
import { measureThroughput, type ThroughputStep } from './throughput.js';

export type SuiteName =
  | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384'
  | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY';

export interface PipelineRow {
  readonly suite: SuiteName;
  readonly records: number;
  readonly ratePerSecond: number;
  /** CPU µs per record: the producer and consumer processes, and the loops in this process. */
  readonly producerUs: number;
  readonly consumerUs: number;
  /** The same, less what each process spends idle over as long (polling, lease rounds, timers, GC). */
  readonly producerMarginalUs: number;
  readonly consumerMarginalUs: number;
  /**
   * The consumers at load: CPU µs per record while they drain a backlog (they were stopped while
   * the records were posted), so their polling while idle is a small share of it.
   */
  readonly consumerAtLoadUs: number;
  readonly rawEncryptUs: number;
  readonly rawDecryptUs: number;
  readonly exampleShapeUs: number;
  /** POST /records, from when each request was due. */
  readonly postP50Ms: number;
  readonly postP99Ms: number;
  readonly notCreated: number;
  /** From arrival in the stream to the item written, from the consumers' histogram. */
  readonly ingestToStoreP50Ms: number;
  readonly ingestToStoreP99Ms: number;
  readonly producerPeakRssBytes: number;
  readonly consumerPeakRssBytes: number;
  readonly throughput?: readonly ThroughputStep[];
  /** A producer of its own at load (16 in flight; with --threads, 64 in flight by encryption threads). */
  readonly atLoad: readonly AtLoadRow[];
}

const WARM_UP = 100;

const record = (index: number) => JSON.stringify({ id: `bench-${randomUUID()}`, index, text: 'x'.repeat(200) });

/** Posts `records` as NDJSON batches of 50, each sent again until it is answered 201. */
async function postBatches(url: string, records: readonly string[]): Promise<void> {
  for (let start = 0; start < records.length; start += 50) {
    const body = records.slice(start, start + 50).join('\n');
    for (let attempt = 0; attempt < 100; attempt++) {
      const response = await fetch(`${url}/records/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      });
      await response.arrayBuffer();
      if (response.status === 201) break;
      await new Promise((done) => setTimeout(done, 200));
    }
  }
}

async function post(url: string, body: string): Promise<number> {
  const response = await fetch(`${url}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * The real producer and consumers (`pnpm start`, one consumer per region) with `suite`, at a
 * steady offered rate: CPU per record from each process's own accounting, set beside the raw
 * Encryption SDK loops and the example's shape run here with the same suite, keyrings and cache
 * bounds; POST latency from when each request was due; ingest-to-store; then, when asked, the
 * throughput steps; and the peak memory of each service.
 */
export async function measurePipeline(options: {
  readonly suite: SuiteName;
  readonly records: number;
  readonly ratePerSecond: number;
  readonly throughputRates?: readonly number[];
  readonly stepSeconds: number;
  readonly atLoadRuns: readonly AtLoadRun[];
  readonly profileDir?: string;
}): Promise<PipelineRow> {
  const streamName = `bench-${randomUUID().slice(0, 8)}`;
  const env = { STREAM_NAME: streamName, KMS_KEY_ALIAS: `alias/${streamName}`, ALGORITHM_SUITE: options.suite };
  const running = await startPipelineStack(env);
  try {
    const { stack } = running;
    const regions = Object.keys(stack.regions);
    const pipeline = loadPipelineSettings(
      { ...env, REGIONS: regions.join(',') },
      { cacheMaxAgeSeconds: 300, refreshAhead: true },
    );
    const first = stack.regions[regions[0] as string];
    const clients = new AwsClients({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: {
        kinesis: Object.fromEntries(regions.map((region) => [region, stack.regions[region]?.kinesis as string])),
        kms: first?.kms as string,
      },
    });
    try {
      const kms = (region: string) => clients.kms(region);
      const keys = await resolveWrappingKeys({ settings: pipeline.wrappingKeys, regions, kms });
      const producerUrl = stack.producer.url;
      const consumers = stack.consumers.map((consumer) => consumer.url);
      for (let index = 0; index < WARM_UP; index++) await post(producerUrl, record(index));

      // Steady load, once the consumers have written the warm-up (their CPU is then this load's alone)
      const cpu = async () => ({
        producer: await scrape(stack.producer.metricsUrl, 'process_cpu_seconds_total'),
        consumers: await Promise.all(consumers.map((url) => scrape(url, 'process_cpu_seconds_total'))),
      });
      const written = async () =>
        (await Promise.all(consumers.map((url) => scrape(url, 'consumer_records_written_total')))).reduce(
          (a, b) => a + b,
          0,
        );
      for (let attempt = 0; attempt < 600 && (await written()) < WARM_UP * regions.length; attempt++) {
        await new Promise((done) => setTimeout(done, 100));
      }
      // Idle for as long as the load will last: what the processes spend doing nothing.
      const loadSeconds = options.records / options.ratePerSecond;
      const idleBefore = await cpu();
      const idleStarted = performance.now();
      await new Promise((done) => setTimeout(done, loadSeconds * 1000));
      const idleAfter = await cpu();
      const idleSeconds = (performance.now() - idleStarted) / 1000;
      const idleRate = {
        producer: (idleAfter.producer - idleBefore.producer) / idleSeconds,
        consumers:
          idleAfter.consumers.reduce((sum, value, index) => sum + value - (idleBefore.consumers[index] ?? 0), 0) /
          idleSeconds,
      };
      const writtenBefore = await written();
      const before = await cpu();
      const loadStarted = performance.now();
      const storeBefore = await Promise.all(consumers.map((url) => histogram(url, 'consumer_ingest_to_store_seconds')));
      let notCreated = 0;
      const durations = await atRate(options.records, options.ratePerSecond, async (index) => {
        if ((await post(producerUrl, record(index))) !== 201) notCreated++;
      });
      const producerCpu = (await scrape(stack.producer.metricsUrl, 'process_cpu_seconds_total')) - before.producer;
      const producerSeconds = (performance.now() - loadStarted) / 1000;
      for (
        let attempt = 0;
        attempt < 600 && (await written()) < writtenBefore + options.records * regions.length;
        attempt++
      ) {
        await new Promise((done) => setTimeout(done, 100));
      }
      const after = await cpu();
      const consumerSeconds = (performance.now() - loadStarted) / 1000;
      const storeAfter = await Promise.all(consumers.map((url) => histogram(url, 'consumer_ingest_to_store_seconds')));
      const merged = (readings: Map<number, number>[]) => {
        const total = new Map<number, number>();
        for (const reading of readings) for (const [le, count] of reading) total.set(le, (total.get(le) ?? 0) + count);
        return total;
      };
      const consumerCpu = after.consumers.reduce(
        (sum, value, index) => sum + value - (before.consumers[index] ?? 0),
        0,
      );
      const post50 = summarize(durations);

      // The consumers at load: stopped while a backlog is posted, then timed while they drain it
      const consumerPids = stack.consumers
        .map((consumer) => consumer.pid)
        .filter((pid): pid is number => pid !== undefined);
      // Scraped before the stop: a stopped process does not answer.
      const backlogFrom = await written();
      for (const pid of consumerPids) process.kill(pid, 'SIGSTOP');
      try {
        await postBatches(
          producerUrl,
          Array.from({ length: options.records }, (_, index) => record(WARM_UP + options.records + index)),
        );
      } finally {
        for (const pid of consumerPids) process.kill(pid, 'SIGCONT');
      }
      const drainBefore = await cpu();
      for (
        let attempt = 0;
        attempt < 240 && (await written()) < backlogFrom + options.records * regions.length;
        attempt++
      ) {
        // Every half second: each look renders both consumers' whole /metrics, which at ten a
        // second was 3-5% of their CPU in the drain's profile, charged to the records.
        await new Promise((done) => setTimeout(done, 500));
      }
      const drainAfter = await cpu();
      const drainCpu = drainAfter.consumers.reduce(
        (sum, value, index) => sum + value - (drainBefore.consumers[index] ?? 0),
        0,
      );

      // The same work without the pipeline, in this process
      const suite = AlgorithmSuiteIdentifier[options.suite];
      const plaintext = Buffer.from(record(0));
      const raw = await rawLoops({
        records: options.records,
        plaintext,
        streamName,
        suite,
        producerKeyring: multiRegionKeyring(keys, regions, kms),
        consumerKeyring: regionKeyring(keys, regions[1] ?? (regions[0] as string), kms),
        pipeline,
        concurrency: 16,
      });
      const example = await exampleShapeUs({
        records: options.records,
        plaintext,
        streamName,
        suite,
        producerKeyring: multiRegionKeyring(keys, regions, kms),
        pipeline,
        clients,
        concurrency: 16,
      });
      const atLoad = await measureAtLoad(running, {
        suite: options.suite,
        runs: options.atLoadRuns,
        ...(options.profileDir === undefined ? {} : { profileDir: options.profileDir }),
      });
      const throughput =
        options.throughputRates === undefined
          ? undefined
          : await measureThroughput(running, { rates: options.throughputRates, stepSeconds: options.stepSeconds });
      return {
        suite: options.suite,
        records: options.records,
        ratePerSecond: options.ratePerSecond,
        producerUs: (producerCpu * 1e6) / options.records,
        consumerUs: (consumerCpu * 1e6) / (options.records * regions.length),
        producerMarginalUs: ((producerCpu - idleRate.producer * producerSeconds) * 1e6) / options.records,
        consumerMarginalUs:
          ((consumerCpu - idleRate.consumers * consumerSeconds) * 1e6) / (options.records * regions.length),
        consumerAtLoadUs: (drainCpu * 1e6) / (options.records * regions.length),
        rawEncryptUs: raw.encryptUs,
        rawDecryptUs: raw.decryptUs,
        exampleShapeUs: example,
        postP50Ms: post50.p50Ms,
        postP99Ms: post50.p99Ms,
        notCreated,
        ingestToStoreP50Ms: quantile(merged(storeBefore), merged(storeAfter), 0.5) * 1000,
        ingestToStoreP99Ms: quantile(merged(storeBefore), merged(storeAfter), 0.99) * 1000,
        producerPeakRssBytes: await peakRss(stack.producer.pid as number),
        consumerPeakRssBytes: Math.max(...(await Promise.all(consumerPids.map(peakRss)))),
        ...(throughput === undefined ? {} : { throughput }),
        atLoad,
      };
    } finally {
      clients.destroy();
    }
  } finally {
    await running.stop();
  }
}
