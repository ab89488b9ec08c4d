import type { EncryptRow } from './kms-call-comparison.js';

/**
 * KMS data keys against concurrency, ours beside the stock manager's and the minimum, as grouped
 * bars on a log scale. Three groups of three bars need no charting library.
 */
export function kmsCallsChart(rows: readonly EncryptRow[], records: number): string {
  const width = 640;
  const height = 360;
  const left = 70;
  const bottom = 300;
  const top = 40;
  const max = Math.max(...rows.flatMap((row) => [row.stockDataKeys, row.ourDataKeys, row.minimumDataKeys]), 10);
  const decades = Math.ceil(Math.log10(max));
  const y = (value: number) => bottom - ((bottom - top) * Math.log10(Math.max(1, value))) / decades;
  const series = [
    { name: 'stock NodeCachingMaterialsManager', color: '#d95f02', pick: (row: EncryptRow) => row.stockDataKeys },
    { name: 'ours', color: '#1b9e77', pick: (row: EncryptRow) => row.ourDataKeys },
    { name: 'theoretical minimum', color: '#7570b3', pick: (row: EncryptRow) => row.minimumDataKeys },
  ];
  const group = (width - left - 20) / rows.length;
  const bar = group / (series.length + 1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>KMS GenerateDataKey calls against concurrency: ours, the stock caching manager, and the minimum</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">GenerateDataKey calls for ${records} records from cold (log scale)</text>`,
  ];
  for (let decade = 0; decade <= decades; decade++) {
    const value = 10 ** decade;
    parts.push(
      `<line x1="${left}" x2="${width - 20}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end">${value}</text>`,
    );
  }
  rows.forEach((row, index) => {
    const x0 = left + index * group + bar / 2;
    series.forEach((each, place) => {
      const value = each.pick(row);
      const x = x0 + place * bar;
      parts.push(
        `<rect x="${x}" y="${y(value)}" width="${bar - 2}" height="${bottom - y(value)}" fill="${each.color}"/>`,
        `<text x="${x + bar / 2}" y="${y(value) - 4}" text-anchor="middle" font-size="10">${value}</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + (series.length * bar) / 2}" y="${bottom + 18}" text-anchor="middle">${row.concurrency} concurrent</text>`,
    );
  });
  series.forEach((each, place) => {
    parts.push(
      `<rect x="${left + place * 190}" y="${bottom + 32}" width="12" height="12" fill="${each.color}"/>`,
      `<text x="${left + place * 190 + 16}" y="${bottom + 42}">${each.name}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
