import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dynamodbEndpoints,
  kinesisEndpoint,
  kmsMissing,
  motoEndpoint,
  regions,
  warnIfKmsMissing,
} from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { createPipelineFixture, type PipelineFixture } from '../support/pipeline-fixture.js';

warnIfKmsMissing('the consumer EMF suite');

const ENTRY = resolve(import.meta.dirname, '../../src/main.ts');

describe.skipIf(kmsMissing)('The ECS consumer (src/main.ts) with POWERTOOLS_METRICS_NAMESPACE set', () => {
  const region = regions[0] as string;
  let fixture: PipelineFixture | undefined;
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child?.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    fixture?.close();
    child = undefined;
    fixture = undefined;
  });

  it('prints its metrics as EMF lines on stdout, with the counts of each interval under service and stream', async () => {
    // Prepare
    fixture = await createPipelineFixture({ shardCount: 2 });
    const records = Array.from({ length: 6 }, (_, index) => ({ id: `emf-${randomUUID()}`, index }));
    for (const [index, record] of records.entries())
      await fixture.put(region, index % 2, await fixture.encrypt(record));
    await fixture.put(region, 0, new Uint8Array(Buffer.from('not an encrypted message')));
    let stdout = '';

    // Act
    child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY], {
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_KINESIS: kinesisEndpoint(),
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoints()[region] as string,
        AWS_ENDPOINT_URL_KMS: motoEndpoint(),
        REGIONS: regions.join(','),
        REGION: region,
        STREAM_NAME: fixture.streamName,
        TABLE_NAME: fixture.tableName,
        DEAD_LETTER_TABLE_NAME: fixture.deadLetterTableName,
        CHECKPOINT_TABLE_NAME: fixture.checkpointTableName,
        KMS_KEY_ALIAS: fixture.kmsKeyAlias,
        PORT: '0',
        LOG_LEVEL: 'warn',
        POWERTOOLS_METRICS_NAMESPACE: 'RecordsPipeline',
        METRICS_EMF_INTERVAL_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    const emfLines = () =>
      stdout
        .split('\n')
        .filter((line) => line.includes('"_aws"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const sum = (name: string) => emfLines().reduce((total, line) => total + Number(line[name] ?? 0), 0);
    await eventually('every record counted in the EMF lines', () =>
      sum('consumer_records_written') >= records.length && sum('consumer_records_dead_lettered') >= 1
        ? true
        : undefined,
    );

    // Assess
    const lines = emfLines();
    for (const line of lines) {
      expect(line._aws).toMatchObject({
        CloudWatchMetrics: [
          {
            Namespace: 'RecordsPipeline',
            Dimensions: [['service', 'stream']],
            Metrics: [
              { Name: 'consumer_millis_behind_latest', Unit: 'Milliseconds' },
              { Name: 'consumer_stalled_shards', Unit: 'Count' },
              { Name: 'consumer_records_written', Unit: 'Count' },
              { Name: 'consumer_records_dead_lettered', Unit: 'Count' },
              { Name: 'consumer_stale_writes_skipped', Unit: 'Count' },
              { Name: 'consumer_trimmed_leases_read_short', Unit: 'Count' },
            ],
          },
        ],
      });
      expect(line).toMatchObject({ service: 'consumer', stream: fixture.streamName });
    }
    // Per-interval counts: their sum is each record once, however many lines were printed.
    expect(sum('consumer_records_written')).toBe(records.length);
    expect(sum('consumer_records_dead_lettered')).toBe(1);
    expect(sum('consumer_trimmed_leases_read_short')).toBe(0);
  });
});
