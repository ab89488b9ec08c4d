import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Emulator, findMotoServer, startMoto } from '@records/local-stack';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadComposeFile } from './support/compose.js';
import { missingToolReason, repoRoot } from './support/repo.js';

/*
 * localstack/healthcheck.py asks Kinesis, DynamoDB and KMS for a list in every region, the way an
 * SDK would. Here it asks moto, which routes requests as LocalStack does (by X-Amz-Target and the
 * credential scope); whether LocalStack itself answers it is only checked where Docker runs.
 */

const SCRIPT = join(repoRoot, 'localstack', 'healthcheck.py');
const moto = await findMotoServer();
const skip = moto === undefined ? missingToolReason('moto_server', 'the KMS emulator') : undefined;
if (skip !== undefined) console.warn(`[deploy] LocalStack health check script skipped: ${skip}`);

async function healthcheck(args: readonly string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await promisify(execFile)('python3', [SCRIPT, ...args]);
    return { code: 0, output: stdout };
  } catch (error) {
    const failure = error as { code: number; stdout: string };
    return { code: failure.code, output: failure.stdout };
  }
}

describe('File: localstack/healthcheck.py', () => {
  it("is the LocalStack container's health check, for the regions of REGIONS", async () => {
    // Prepare
    const compose = await loadComposeFile();
    const localstack = compose.services.localstack!;

    // Act
    const [cmd, python, script, endpoint, ...regions] = localstack.healthcheck!.test!;

    // Assess
    expect([cmd, python]).toEqual(['CMD', 'python3']);
    expect(localstack.volumes).toContain(`./localstack/healthcheck.py:${script}:ro`);
    expect(endpoint).toBe('http://127.0.0.1:4566');
    expect(regions.join(',')).toBe(compose.services.producer!.environment!.REGIONS);
  });

  describe.skipIf(skip !== undefined)('against an AWS emulator', () => {
    let emulator: Emulator;
    beforeAll(async () => {
      emulator = await startMoto({ port: await getPort(), command: moto! });
    });
    afterAll(() => emulator?.stop());

    it('exits 0 when Kinesis, DynamoDB and KMS answer in every region', async () => {
      // Act
      const result = await healthcheck([emulator.endpoint, 'us-east-1', 'eu-west-1']);

      // Assess
      expect(result).toEqual({ code: 0, output: '' });
    });

    it('exits 1 and names each service that does not answer', async () => {
      // Prepare
      const nothingThere = `http://127.0.0.1:${await getPort()}`;

      // Act
      const result = await healthcheck([nothingThere, 'eu-west-1']);

      // Assess
      expect(result.code).toBe(1);
      expect(
        result.output
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(':')[0]),
      ).toEqual(['kinesis in eu-west-1', 'dynamodb in eu-west-1', 'kms in eu-west-1']);
    });
  });
});
