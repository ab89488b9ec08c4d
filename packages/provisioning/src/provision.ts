import type { AwsClients } from '@records/aws-clients';
import { ProvisioningError } from './errors.js';
import { ensureKmsKey } from './kms-keys.js';
import { ensureStream } from './streams.js';
import { ensureTable, type TableKey } from './tables.js';

export interface ProvisionOptions {
  readonly clients: AwsClients;
  readonly regions: readonly string[];
  readonly streamName: string;
  readonly shardCount: number;
  /** The tables to create, each keyed by the string attribute `id` (records, dead letters, checkpoints). */
  readonly tableNames: readonly string[];
  /** Tables with a key of their own (the hand-off table: `pk` and `version`). */
  readonly keyedTables?: ReadonlyArray<{ readonly name: string; readonly key: TableKey }>;
  /** The KMS key alias to ensure in every region; leave unset when data keys are wrapped locally. */
  readonly kmsKeyAlias?: string;
  readonly logger?: { info(object: object, message: string): void };
}

export interface ProvisionedPipeline {
  /** Key ARN per region, when a KMS alias was provisioned. */
  readonly keyArns?: Readonly<Record<string, string>>;
}

/**
 * Makes sure every region has its KMS key and alias, its stream and its tables. Safe to run any
 * number of times, and concurrently with itself: what exists is left as it is.
 */
export async function provisionPipeline(options: ProvisionOptions): Promise<ProvisionedPipeline> {
  const { clients, kmsKeyAlias } = options;
  const perRegion = await Promise.all(
    options.regions.map(async (region) => {
      try {
        const [keyArn] = await Promise.all([
          kmsKeyAlias === undefined ? undefined : ensureKmsKey(clients.kms(region), kmsKeyAlias),
          ensureStream(clients.kinesis(region), options.streamName, options.shardCount),
          ...options.tableNames.map((table) => ensureTable(clients.dynamodb(region), table)),
          ...(options.keyedTables ?? []).map(({ name, key }) => ensureTable(clients.dynamodb(region), name, key)),
        ]);
        options.logger?.info(
          { region, stream: options.streamName, tables: options.tableNames, keyArn },
          'region provisioned',
        );
        return [region, keyArn] as const;
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new ProvisioningError(`provisioning ${region} failed: ${reason}`, { cause: error });
      }
    }),
  );
  if (kmsKeyAlias === undefined) return {};
  return { keyArns: Object.fromEntries(perRegion.map(([region, arn]) => [region, arn as string])) };
}
