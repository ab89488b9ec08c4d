import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasErrorName } from '@records/errors';
import { LeaseLostError } from './errors.js';

/** Where a shard's reading resumes: from its oldest record, after a sequence number, or nowhere (read to its end). */
export type Checkpoint =
  | { readonly kind: 'trim-horizon' }
  | { readonly kind: 'after'; readonly sequenceNumber: string }
  | { readonly kind: 'shard-end' };

/** One shard's row in the lease table. */
export interface Lease {
  readonly shardId: string;
  /** The consumer that holds it; none when released or never taken. */
  readonly owner: string | undefined;
  /** Raised by every change: the lease's concurrency token, and the sign its owner is alive. */
  readonly counter: number;
  readonly checkpoint: Checkpoint;
  /** The shards this one was split or merged from: it is read only after they are read to their end. */
  readonly parentShardIds: readonly string[];
  /**
   * The consumer that asked for this lease to balance the fleet: the owner finishes and checkpoints
   * its batch in hand, then hands the lease to it (KCL 3's graceful handoff), so nothing is read twice.
   */
  readonly nextOwner: string | undefined;
  /**
   * The stream the row belongs to, as KCL keys leases: its ARN and creation time. A stream deleted
   * and created again under the same name has another identity, so its old rows are known as stale.
   * Unset on rows written before identities (adopted by the stream listed now).
   */
  readonly streamIdentity: string | undefined;
}

/** Bounds one lease write: aborted, the write fails (the caller retries it or gives the lease up). */
export interface WriteOptions {
  readonly abortSignal?: AbortSignal;
}

export interface LeaseStoreOptions {
  readonly dynamodb: DynamoDBClient;
  /** CHECKPOINT_TABLE: rows keyed `<stream>/<shardId>`, a checkpoint row from before leases is taken over as is. */
  readonly tableName: string;
  readonly streamName: string;
}

const TRIM_HORIZON = 'TRIM_HORIZON';
const SHARD_END = 'SHARD_END';

interface LeaseRow {
  readonly id: string;
  readonly stream?: string;
  readonly shardId?: string;
  readonly leaseOwner?: string;
  readonly leaseCounter?: number;
  readonly checkpoint?: string;
  /** Written by the consumer before leases; read as the checkpoint when `checkpoint` is absent. */
  readonly sequenceNumber?: string;
  readonly parentShardIds?: string[];
  readonly nextOwner?: string;
  readonly streamIdentity?: string;
}

function checkpointOf(value: string | undefined): Checkpoint {
  if (value === undefined || value === TRIM_HORIZON) return { kind: 'trim-horizon' };
  if (value === SHARD_END) return { kind: 'shard-end' };
  return { kind: 'after', sequenceNumber: value };
}

function stored(checkpoint: Checkpoint): string {
  if (checkpoint.kind === 'after') return checkpoint.sequenceNumber;
  return checkpoint.kind === 'shard-end' ? SHARD_END : TRIM_HORIZON;
}

function isConditionFailure(error: unknown): boolean {
  return hasErrorName(error, 'ConditionalCheckFailedException');
}

/**
 * The lease table, as KCL keeps it: one row per shard with its owner, a counter, its checkpoint and
 * its parents. Every change is a conditional write on the counter the writer last saw (and, for the
 * owner's own writes, on being the owner), and raises the counter: a lease has one owner at a time,
 * and a consumer that lost one finds out at its next write.
 */
export class LeaseStore {
  readonly #options: LeaseStoreOptions;
  readonly #documents: DynamoDBDocumentClient;

  constructor(options: LeaseStoreOptions) {
    this.#options = options;
    this.#documents = DynamoDBDocumentClient.from(options.dynamodb);
  }

  /** Every lease of the stream, read consistently. */
  async list(): Promise<Lease[]> {
    const leases: Lease[] = [];
    const pages = paginateScan(
      { client: this.#documents },
      {
        TableName: this.#options.tableName,
        ConsistentRead: true,
        FilterExpression: '#stream = :stream',
        ExpressionAttributeNames: { '#stream': 'stream' },
        ExpressionAttributeValues: { ':stream': this.#options.streamName },
      },
    );
    for await (const page of pages) {
      for (const row of (page.Items ?? []) as LeaseRow[]) leases.push(this.#lease(row));
    }
    return leases;
  }

  /**
   * Adds the row of a shard found in the stream of `streamIdentity`; a row that exists (a lease, or
   * an older checkpoint) keeps what it has, and a row without an identity is given this one.
   */
  async ensure(shardId: string, parentShardIds: readonly string[], streamIdentity: string): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.#options.tableName,
        Key: { id: this.#key(shardId) },
        UpdateExpression:
          'SET #stream = :stream, shardId = :shard, leaseCounter = if_not_exists(leaseCounter, :zero), ' +
          '#checkpoint = if_not_exists(#checkpoint, if_not_exists(sequenceNumber, :start)), ' +
          'parentShardIds = if_not_exists(parentShardIds, :parents), ' +
          'streamIdentity = if_not_exists(streamIdentity, :identity)',
        ExpressionAttributeNames: { '#stream': 'stream', '#checkpoint': 'checkpoint' },
        ExpressionAttributeValues: {
          ':stream': this.#options.streamName,
          ':shard': shardId,
          ':zero': 0,
          ':start': TRIM_HORIZON,
          ':parents': [...parentShardIds],
          ':identity': streamIdentity,
        },
      }),
    );
  }

  /**
   * Takes a lease last seen as `seen` (free, expired, handed over, or taken from an owner that did not
   * hand it over in time); fails if anyone changed it since.
   */
  take(seen: Lease, owner: string, options?: WriteOptions): Promise<Lease> {
    return this.#change(seen, options, {
      set: ['leaseOwner = :owner'],
      remove: 'nextOwner',
      values: { ':owner': owner },
      condition: seen.owner === undefined ? 'attribute_not_exists(leaseOwner)' : 'leaseOwner = :seenOwner',
    });
  }

  /**
   * Asks the owner of a lease to hand it over: it stops reading the shard, finishes and checkpoints
   * its batch in hand, and calls `handOver`. The counter is left as it is, so the owner's renewals
   * and checkpoints go on meanwhile; fails when the owner changed or another consumer asked first.
   */
  async requestHandoff(seen: Lease, asker: string, options: WriteOptions = {}): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#options.tableName,
          Key: { id: this.#key(seen.shardId) },
          UpdateExpression: 'SET nextOwner = :asker',
          ConditionExpression: 'leaseOwner = :seenOwner AND attribute_not_exists(nextOwner)',
          ExpressionAttributeValues: { ':asker': asker, ':seenOwner': seen.owner },
        }),
        options,
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseLostError(seen.shardId, { cause: error });
      throw error;
    }
  }

  /** The owner gives the lease, checkpointed, to the consumer that asked for it. */
  handOver(held: Lease, to: string, options?: WriteOptions): Promise<Lease> {
    return this.#change(held, options, {
      set: ['leaseOwner = :to'],
      remove: 'nextOwner',
      values: { ':to': to },
      condition: 'leaseOwner = :seenOwner AND nextOwner = :to',
    });
  }

  /** The owner says it is alive. */
  renew(held: Lease, options?: WriteOptions): Promise<Lease> {
    return this.#change(held, options, { condition: 'leaseOwner = :seenOwner' });
  }

  /** The owner records where reading resumes. */
  checkpoint(held: Lease, checkpoint: Checkpoint, options?: WriteOptions): Promise<Lease> {
    return this.#change(held, options, {
      set: ['#checkpoint = :checkpoint'],
      values: { ':checkpoint': stored(checkpoint) },
      condition: 'leaseOwner = :seenOwner',
    });
  }

  /** The owner lets go, so another consumer takes the lease at once instead of waiting for it to expire. */
  release(held: Lease, options?: WriteOptions): Promise<Lease> {
    return this.#change(held, options, { remove: 'leaseOwner, nextOwner', condition: 'leaseOwner = :seenOwner' });
  }

  /**
   * Deletes the row of a shard Kinesis no longer lists (trimmed, past the stream's retention) or of
   * an earlier stream of the same name, if unchanged since `seen`; false when it changed meanwhile.
   * Never for a shard of the stream listed now: it would be found again and read from its start.
   */
  async remove(seen: Lease): Promise<boolean> {
    try {
      await this.#documents.send(
        new DeleteCommand({
          TableName: this.#options.tableName,
          Key: { id: this.#key(seen.shardId) },
          ConditionExpression: 'leaseCounter = :counter',
          ExpressionAttributeValues: { ':counter': seen.counter },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** One conditional write: on the counter last seen (and the owner last seen), raising the counter. */
  async #change(
    seen: Lease,
    options: WriteOptions | undefined,
    change: { set?: string[]; remove?: string; values?: Record<string, unknown>; condition: string },
  ): Promise<Lease> {
    const set = ['leaseCounter = leaseCounter + :one', ...(change.set ?? [])].join(', ');
    try {
      const { Attributes } = await this.#documents.send(
        new UpdateCommand({
          TableName: this.#options.tableName,
          Key: { id: this.#key(seen.shardId) },
          UpdateExpression: `SET ${set}${change.remove === undefined ? '' : ` REMOVE ${change.remove}`}`,
          ConditionExpression: `leaseCounter = :counter AND ${change.condition}`,
          ...(set.includes('#checkpoint') ? { ExpressionAttributeNames: { '#checkpoint': 'checkpoint' } } : {}),
          ExpressionAttributeValues: {
            ':one': 1,
            ':counter': seen.counter,
            ...(change.condition.includes(':seenOwner') ? { ':seenOwner': seen.owner } : {}),
            ...change.values,
          },
          ReturnValues: 'ALL_NEW',
        }),
        options,
      );
      return this.#lease(Attributes as LeaseRow);
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseLostError(seen.shardId, { cause: error });
      throw error;
    }
  }

  #lease(row: LeaseRow): Lease {
    return {
      shardId: row.shardId ?? row.id.slice(this.#options.streamName.length + 1),
      owner: row.leaseOwner,
      counter: row.leaseCounter ?? 0,
      checkpoint: checkpointOf(row.checkpoint ?? row.sequenceNumber),
      parentShardIds: row.parentShardIds ?? [],
      nextOwner: row.nextOwner,
      streamIdentity: row.streamIdentity,
    };
  }

  #key(shardId: string): string {
    return `${this.#options.streamName}/${shardId}`;
  }
}
