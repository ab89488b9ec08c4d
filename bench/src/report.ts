import type { DecryptRow, EncryptRow } from './kms-call-comparison.js';
import type { LatencySummary } from './pacing.js';
import type { PostRow } from './post-records-latency.js';
import type { LatencyRow } from './steady-state-latency.js';

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0)));
  const line = (row: readonly string[]) => row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ');
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...cells.slice(1).map(line)].join('\n');
}

const ratio = (stock: number, ours: number) => (ours === 0 ? 'n/a' : `${(stock / ours).toFixed(1)}x`);
const ms = (value: number) => value.toFixed(2);
const spread = (row: LatencySummary) => `${(row.p99Ms / row.p50Ms).toFixed(1)}x`;

export function encryptTable(rows: readonly EncryptRow[]): string {
  return table(
    ['concurrency', 'stock data keys', 'ours data keys', 'minimum', 'stock/ours', 'stock KMS calls', 'ours KMS calls'],
    rows.map((row) => [
      row.concurrency,
      row.stockDataKeys,
      row.ourDataKeys,
      row.minimumDataKeys,
      ratio(row.stockDataKeys, row.ourDataKeys),
      row.stockCalls,
      row.ourCalls,
    ]),
  );
}

export function decryptTable(rows: readonly DecryptRow[]): string {
  return table(
    ['concurrency', 'stock Decrypt calls', 'ours Decrypt calls', 'minimum', 'stock/ours'],
    rows.map((row) => [
      row.concurrency,
      row.stockDecrypts,
      row.ourDecrypts,
      row.minimum,
      ratio(row.stockDecrypts, row.ourDecrypts),
    ]),
  );
}

export function latencyTable(rows: readonly LatencyRow[]): string {
  return table(
    ['load', 'refresh-ahead', 'p50 ms', 'p99 ms', 'max ms', 'p99/p50', 'waited on KMS', 'data keys'],
    rows.map((row) => [
      row.load,
      row.refresh,
      ms(row.p50Ms),
      ms(row.p99Ms),
      ms(row.maxMs),
      spread(row),
      `${row.waitedOnKms}/${row.requests}`,
      row.dataKeys,
    ]),
  );
}

export function postTable(rows: readonly PostRow[]): string {
  return table(
    ['rate', 'refresh-ahead', 'p50 ms', 'p99 ms', 'max ms', 'p99/p50', 'waited on KMS', 'data keys', 'not 201'],
    rows.map((row) => [
      `${row.ratePerSecond}/s`,
      row.refresh,
      ms(row.p50Ms),
      ms(row.p99Ms),
      ms(row.maxMs),
      spread(row),
      `${row.waitedOnKms}/${row.requests}`,
      row.dataKeys,
      row.failed,
    ]),
  );
}
