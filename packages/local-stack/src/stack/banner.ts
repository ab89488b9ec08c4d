import { relative } from 'node:path';
import type { StackDescription } from './stack.js';

/** What the person who ran `pnpm start` needs next: where things are, and commands to paste. */
export function renderBanner(stack: StackDescription, stackFile: string, cwd: string): string {
  const [firstRegion] = Object.keys(stack.regions);
  const first = firstRegion === undefined ? undefined : stack.regions[firstRegion];
  const credentials = 'AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test';
  const lines = [
    '',
    `Records pipeline is running: ${Object.keys(stack.regions).join(', ')} (data keys wrapped by ${stack.wrappingKeys === 'kms' ? 'KMS' : 'local AES keys'})`,
    `  producer              ${stack.producer.url}   pid ${stack.producer.pid}`,
    ...stack.consumers.map(
      (consumer) =>
        `  consumer ${`${consumer.region}#${consumer.index}`.padEnd(12)} ${consumer.url}   pid ${consumer.pid}`,
    ),
    '',
    'Post a record:',
    `  curl -sS -X POST ${stack.producer.url}/records -H 'content-type: application/json' \\`,
    `    -d '{"id":"hello-1","greeting":"hi","n":42,"tags":["a","b"]}'`,
    '',
    'Find it in each region:',
    ...Object.entries(stack.regions).map(
      ([region, endpoints]) =>
        `  ${credentials} aws dynamodb get-item --region ${region} --endpoint-url ${endpoints.dynamodb} --table-name ${stack.table} --key '{"id":{"S":"hello-1"}}'`,
    ),
    '',
    'Watch the data key cache and KMS calls:',
    `  curl -s ${stack.producer.metricsUrl}/metrics | grep -E '^(datakey_cache|kms)_'`,
    ...(first === undefined
      ? []
      : [
          '',
          'The stream:',
          `  ${credentials} aws kinesis describe-stream-summary --region ${firstRegion} --endpoint-url ${first.kinesis} --stream-name ${stack.stream}`,
        ]),
    '',
    `Everything above is in ${relative(cwd, stackFile) || stackFile}. Ctrl-C stops it all.`,
    '',
  ];
  return lines.join('\n');
}
