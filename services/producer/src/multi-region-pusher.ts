import { createHash } from 'node:crypto';
import { type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { StreamUnavailableError } from './errors.js';
import type { ProducerMetrics } from './metrics.js';

export interface StreamPosition {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

export interface MultiRegionPusherOptions {
  readonly regions: readonly string[];
  readonly streamName: string;
  readonly kinesis: (region: string) => KinesisClient;
  readonly metrics?: ProducerMetrics;
  readonly logger?: { warn(object: object, message: string): void };
}

/**
 * A hash of the record id: spread over the shards as evenly as a random key would be (ids are
 * UUIDs or otherwise distinct), but the same id always lands on the same shard, so a record
 * posted again after its 201 is written after the earlier version in every region.
 */
export function partitionKey(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/**
 * Puts one ciphertext to the stream of every region at once. It succeeds only when every region
 * took the record, so an acknowledged record is durable in every region.
 */
export class MultiRegionPusher {
  readonly #options: MultiRegionPusherOptions;

  constructor(options: MultiRegionPusherOptions) {
    this.#options = options;
  }

  async push(id: string, ciphertext: Uint8Array): Promise<Record<string, StreamPosition>> {
    const { regions, streamName, kinesis, metrics, logger } = this.#options;
    const results = await Promise.allSettled(
      regions.map(async (region) => {
        const command = new PutRecordCommand({
          StreamName: streamName,
          Data: ciphertext,
          PartitionKey: partitionKey(id),
        });
        const { ShardId, SequenceNumber } = await kinesis(region).send(command);
        if (ShardId === undefined || SequenceNumber === undefined) throw new Error('PutRecord returned no position');
        return { shardId: ShardId, sequenceNumber: SequenceNumber };
      }),
    );
    const positions: Record<string, StreamPosition> = {};
    const failed: string[] = [];
    results.forEach((result, index) => {
      const region = regions[index] as string;
      metrics?.kinesisPuts.inc({ region, outcome: result.status === 'fulfilled' ? 'success' : 'error' });
      if (result.status === 'fulfilled') positions[region] = result.value;
      else {
        failed.push(region);
        const reason = result.reason instanceof Error ? result.reason.name : 'Unknown';
        logger?.warn({ id, region, reason }, 'put to region stream failed');
      }
    });
    if (failed.length > 0) {
      const cause = results.find((result) => result.status === 'rejected')?.reason;
      throw new StreamUnavailableError(id, failed, { cause });
    }
    return positions;
  }
}
