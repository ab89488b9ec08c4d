import { performance } from 'node:perf_hooks';
import { usePerDataKey } from '@records/local-stack/testing';
import { DEFAULT_REGIONS } from '@records/pipeline-config';
import { compareDecrypt, compareEncrypt, type DecryptRow, type EncryptRow } from './kms-call-comparison.js';
import type { RefreshMode } from './materials-managers.js';
import { measurePostLatency, type PostRow } from './post-records-latency.js';
import { stopPrivateKms, withPrivateKms } from './private-kms.js';
import { stopProducerStacks, withProducerStack } from './producer-stack.js';
import { decryptTable, encryptTable, latencyTable, postTable } from './report.js';
import { type BenchSettings, loadBenchSettings } from './settings.js';
import { type LatencyRow, type Load, measureLatency, NO_KEY_CHANGE } from './steady-state-latency.js';

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

async function comparePostLatency(settings: BenchSettings) {
  return withProducerStack(async (stack) => {
    const rows: PostRow[] = [];
    for (const ratePerSecond of settings.postRates) {
      for (const refreshAhead of [false, true]) {
        const options = { requests: settings.postRequests, ratePerSecond, maxMessages: settings.maxMessages };
        rows.push(await measurePostLatency(stack, { ...options, refreshAhead }));
      }
      console.log(`POST /records at ${ratePerSecond}/s: done`);
    }
    return rows;
  });
}

/** Runs one section and says how long it took, so the whole run can be kept within budget. */
async function section<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  console.log(`${name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return result;
}

/**
 * KMS calls of the stock NodeCachingMaterialsManager and of ours, side by side, counted at a
 * recording proxy in front of a private moto_server on loopback; then our encrypt latency after
 * warm-up with each refresh-ahead mode; then POST /records through the real producer app.
 */
async function main(): Promise<void> {
  const settings = loadBenchSettings(process.env);
  const deadline = setTimeout(() => {
    console.error(`benchmark: still running after ${settings.timeoutSeconds}s, stopping`);
    void Promise.allSettled([stopPrivateKms(), stopProducerStacks()]).finally(() => process.exit(2));
  }, settings.timeoutSeconds * 1000);
  deadline.unref();
  console.log(
    `${settings.records} records per run, ${settings.maxMessages} messages per data key, regions ${DEFAULT_REGIONS.join(', ')}`,
  );
  console.log('KMS calls are counted at a recording proxy in front of moto_server.\n');
  const { encryptRows, decryptRows } = await section('KMS calls', () => compareKmsCalls(settings));
  const latencyRows = await section('encrypt latency', () => compareLatency(settings));
  const postRows = await section('POST /records', () => comparePostLatency(settings));
  clearTimeout(deadline);

  console.log(
    `\nEncrypt: ${settings.records} records from cold (GenerateDataKey in ${DEFAULT_REGIONS[0]} = data keys)`,
  );
  console.log(encryptTable(encryptRows));
  console.log(`\nDecrypt: the same ${settings.records} ciphertexts from cold in ${DEFAULT_REGIONS[1]}`);
  console.log(decryptTable(decryptRows));
  console.log('\nEncrypt latency through ours after warm-up: at a steady arrival rate, then saturated');
  console.log(latencyTable(latencyRows));
  console.log(
    `\nPOST /records through the producer over loopback HTTP (kinesis-local, moto), ${settings.postRequests} per run`,
  );
  console.log(postTable(postRows));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
