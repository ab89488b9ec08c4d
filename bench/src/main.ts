import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, platform, release } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { usePerDataKey } from '@records/local-stack/testing';
import { DEFAULT_REGIONS } from '@records/pipeline-config';
import { kmsCallsChart } from './chart.js';
import { compareDecrypt, compareEncrypt, type DecryptRow, type EncryptRow } from './kms-call-comparison.js';
import type { RefreshMode } from './materials-managers.js';
import { measurePipeline, type PipelineRow } from './pipeline-run.js';
import { stopPipelineStacks } from './pipeline-stack.js';
import { stopPrivateKms, withPrivateKms } from './private-kms.js';
import {
  atLoadTable,
  decryptTable,
  encryptTable,
  latencyTable,
  minimumTable,
  pipelineTable,
  throughputTable,
} from './report.js';
import { type BenchSettings, loadBenchSettings } from './settings.js';
import { type LatencyRow, type Load, measureLatency, NO_KEY_CHANGE } from './steady-state-latency.js';

const RESULTS = resolve(import.meta.dirname, '../results');
const SDK_VERSION = (createRequire(import.meta.url)('@aws-crypto/client-node/package.json') as { version: string })
  .version;

/** Each steady-rate latency run lasts this long. */
const RATE_RUN_SECONDS = 5;
const REFRESH_MODES: readonly RefreshMode[] = ['off', 'at 0.8', 'adaptive'];

async function compareKmsCalls(settings: BenchSettings) {
  const { records, maxMessages } = settings;
  return withPrivateKms(async (kms) => {
    const encryptRows: EncryptRow[] = [];
    const decryptRows: DecryptRow[] = [];
    for (const concurrency of settings.concurrencies) {
      const { row, ciphertexts } = await compareEncrypt(kms, records, maxMessages, concurrency);
      encryptRows.push(row);
      console.log(`encrypt, ${concurrency} in flight: stock ${row.stockDataKeys}, ours ${row.ourDataKeys} data keys`);
      const distinctKeys = usePerDataKey(ciphertexts.map((ciphertext) => ({ ciphertext, plaintextLength: 0 }))).size;
      const decryptRow = await compareDecrypt(kms, ciphertexts, distinctKeys, maxMessages, concurrency);
      decryptRows.push(decryptRow);
      console.log(
        `decrypt, ${concurrency} in flight: stock ${decryptRow.stockDecrypts}, ours ${decryptRow.ourDecrypts}`,
      );
    }
    return { encryptRows, decryptRows };
  });
}

async function compareLatency(settings: BenchSettings) {
  const loads: Load[] = [{ ratePerSecond: 500 }, { ratePerSecond: 2_000 }, { concurrency: 16 }];
  const rows: LatencyRow[] = [];
  for (const load of loads) {
    const records =
      'ratePerSecond' in load ? load.ratePerSecond * RATE_RUN_SECONDS : Math.min(settings.records, 20_000);
    await withPrivateKms(async (kms) => {
      rows.push(await measureLatency(kms, { records, load, maxMessages: NO_KEY_CHANGE, refresh: 'off' }));
      for (const refresh of REFRESH_MODES) {
        rows.push(await measureLatency(kms, { records, load, maxMessages: settings.maxMessages, refresh }));
      }
    });
    console.log(
      `latency at ${'ratePerSecond' in load ? `${load.ratePerSecond}/s` : `${load.concurrency} in flight`}: done`,
    );
  }
  return rows;
}

/** Runs one section and says how long it took, so the whole run can be kept within budget. */
async function section<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  console.log(`${name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return result;
}

async function comparePipelines(settings: BenchSettings): Promise<PipelineRow[]> {
  const rows: PipelineRow[] = [];
  for (const suite of settings.suites) {
    rows.push(
      await measurePipeline({
        suite,
        records: settings.pipelineRecords,
        ratePerSecond: settings.pipelineRate,
        stepSeconds: settings.stepSeconds,
        // The throughput steps and the thread runs once, with the SDK's default suite.
        ...(suite === settings.suites[0] ? { throughputRates: settings.throughputRates } : {}),
        atLoadRuns:
          suite === settings.suites[0] ? [...settings.atLoadRuns, ...settings.threadRuns] : settings.atLoadRuns,
        ...(settings.profileDir === undefined ? {} : { profileDir: settings.profileDir }),
      }),
    );
    console.log(`pipeline, ${suite}: done`);
  }
  return rows;
}

/**
 * One run, side by side: KMS calls of the stock NodeCachingMaterialsManager and of ours, counted
 * at a recording proxy in front of a private moto_server; then the real services under `pnpm
 * start` for each suite (CPU per record beside the raw SDK loops and the example's shape, latency,
 * ingest-to-store, memory, throughput); in the full run, our encrypt latency after warm-up too.
 * Writes bench/results/latest.json, latest.md and kms-calls.svg.
 */
async function main(): Promise<void> {
  const settings = loadBenchSettings(process.env, process.argv.slice(2));
  const deadline = setTimeout(() => {
    console.error(`benchmark: still running after ${settings.timeoutSeconds}s, stopping`);
    void Promise.allSettled([stopPrivateKms(), stopPipelineStacks()]).finally(() => process.exit(2));
  }, settings.timeoutSeconds * 1000);
  deadline.unref();
  console.log(
    `${settings.short ? 'short run: ' : ''}${settings.records} records per KMS run, ${settings.maxMessages} messages per data key, regions ${DEFAULT_REGIONS.join(', ')}`,
  );
  console.log('KMS calls are counted at a recording proxy in front of moto_server; load goes to 127.0.0.1 only.\n');
  const { encryptRows, decryptRows } = await section('KMS calls', () => compareKmsCalls(settings));
  const pipelineRows = await section('pipeline', () => comparePipelines(settings));
  const latencyRows = settings.short ? [] : await section('encrypt latency', () => compareLatency(settings));
  clearTimeout(deadline);

  const throughput = pipelineRows.find((row) => row.throughput !== undefined)?.throughput ?? [];
  const sections = [
    `Encrypt: ${settings.records} records from cold (GenerateDataKey in ${DEFAULT_REGIONS[0]} = data keys)`,
    encryptTable(encryptRows),
    `Decrypt: the same ${settings.records} ciphertexts from cold in ${DEFAULT_REGIONS[1]}`,
    decryptTable(decryptRows),
    'KMS calls as a ratio to the theoretical minimum; refresh-ahead keys fetched and never used by the end of the burst apart',
    minimumTable(encryptRows, decryptRows),
    `The real services (pnpm start), ${settings.pipelineRecords} POST /records at ${settings.pipelineRate}/s; CPU per record beside the raw SDK loops in one process`,
    pipelineTable(pipelineRows),
    'A producer of its own at load, beside the stack (closed loop of POSTs; CPU of the whole process, worker threads included), each figure beside its goal',
    atLoadTable(pipelineRows),
    'Throughput through the whole pipeline (batches of 50), until a step is not kept up with',
    throughputTable(throughput),
    ...(latencyRows.length === 0
      ? []
      : [
          'Encrypt latency through ours after warm-up: at a steady arrival rate, then saturated',
          latencyTable(latencyRows),
        ]),
  ];
  const text = sections.map((part, index) => (index % 2 === 0 ? `\n${part}` : part)).join('\n');
  console.log(text);
  const load = loadavg();
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ${platform()} ${release()}`;
  const date = new Date().toISOString();
  await mkdir(RESULTS, { recursive: true });
  await writeFile(
    join(RESULTS, 'latest.json'),
    `${JSON.stringify(
      {
        date,
        machine,
        mode: settings.short ? 'short' : 'full',
        loadAverage: load,
        settings,
        versions: { node: process.version, encryptionSdk: SDK_VERSION, regions: DEFAULT_REGIONS },
        kms: { encrypt: encryptRows, decrypt: decryptRows },
        pipeline: pipelineRows,
        throughput,
        encryptLatency: latencyRows,
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(
    join(RESULTS, 'latest.md'),
    `Run ${date} on ${machine} (${settings.short ? 'short' : 'full'} mode; load average at the end ${load.map((value) => value.toFixed(2)).join(', ')})\n\n\`\`\`text${text}\n\`\`\`\n`,
  );
  await writeFile(join(RESULTS, 'kms-calls.svg'), kmsCallsChart(encryptRows, settings.records));
  console.log(`\nWritten: ${join('bench/results', 'latest.json')}, latest.md, kms-calls.svg`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
