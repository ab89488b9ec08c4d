import { findMotoServer, startMoto } from '@records/local-stack';
import { DEFAULT_REGIONS } from '@records/pipeline-config';
import getPort from 'get-port';
import { createKmsFixture } from '../tests/support/kms-fixture.js';
import { usePerDataKey } from '../tests/support/workload.js';
import { compareDecrypt, compareEncrypt, type DecryptRow, type EncryptRow } from './kms-call-comparison.js';
import { decryptTable, encryptTable, latencyTable } from './report.js';
import { loadBenchSettings } from './settings.js';
import { type LatencyRow, type Load, measureLatency, NO_KEY_CHANGE } from './steady-state-latency.js';

/** Each steady-rate latency run lasts this long. */
const RATE_RUN_SECONDS = 5;

/**
 * KMS calls of the stock NodeCachingMaterialsManager and of ours, side by side, counted at a
 * recording proxy in front of a private moto_server on loopback; then our encrypt latency at steady
 * load with refresh-ahead on and off.
 */
async function main(): Promise<void> {
  const settings = loadBenchSettings(process.env);
  const command = await findMotoServer();
  if (command === undefined) throw new Error('moto_server is not on PATH; the benchmark needs it');
  const moto = await startMoto({ port: await getPort({ host: '127.0.0.1' }), command });
  const deadline = setTimeout(() => {
    console.error(`benchmark: still running after ${settings.timeoutSeconds}s, stopping`);
    void moto.stop().finally(() => process.exit(2));
  }, settings.timeoutSeconds * 1000);
  deadline.unref();
  const kms = await createKmsFixture(moto.endpoint, DEFAULT_REGIONS);
  try {
    const { records, maxMessages } = settings;
    console.log(
      `${records} records per run, ${maxMessages} messages per data key, regions ${DEFAULT_REGIONS.join(', ')}`,
    );
    console.log('KMS calls are counted at a recording proxy in front of moto_server.\n');

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

    const latencyRows: LatencyRow[] = [];
    const loads: Load[] = [{ ratePerSecond: 500 }, { ratePerSecond: 2_000 }, { concurrency: 16 }];
    for (const load of loads) {
      const runRecords = 'ratePerSecond' in load ? load.ratePerSecond * RATE_RUN_SECONDS : Math.min(records, 20_000);
      const run = (keyMessages: number, refreshAheadAt: number | undefined) =>
        measureLatency(kms, { records: runRecords, load, maxMessages: keyMessages, refreshAheadAt });
      latencyRows.push(await run(NO_KEY_CHANGE, undefined));
      for (const refreshAheadAt of [undefined, 0.8, 0.5]) latencyRows.push(await run(maxMessages, refreshAheadAt));
    }

    console.log(`\nEncrypt: ${records} records from cold (GenerateDataKey in ${kms.generatorRegion} = data keys)`);
    console.log(encryptTable(encryptRows));
    console.log(`\nDecrypt: the same ${records} ciphertexts from cold in ${kms.otherRegion}`);
    console.log(decryptTable(decryptRows));
    console.log(
      '\nEncrypt latency through ours after 3 data keys of warm-up: at a steady arrival rate, then saturated',
    );
    console.log(latencyTable(latencyRows));
  } finally {
    clearTimeout(deadline);
    await kms.close();
    await moto.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
