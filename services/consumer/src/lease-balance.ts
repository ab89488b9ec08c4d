import type { Lease } from './lease-store.js';

/** What a consumer knows of a lease it does not hold: when its counter last moved, by its own clock. */
export interface Sighting {
  readonly counter: number;
  readonly since: number;
}

export interface BalanceInput {
  readonly me: string;
  readonly leases: readonly Lease[];
  /** Shards this consumer reads now (less those it is handing over), and those it has asked for. */
  readonly held: ReadonlySet<string>;
  readonly sightings: ReadonlyMap<string, Sighting>;
  readonly now: number;
  readonly leaseDurationMs: number;
}

export interface LeaseToTake {
  readonly lease: Lease;
  /** `stolen`: asked of its owner, which hands it over once its batch in hand is checkpointed. */
  readonly from: 'free' | 'expired' | 'stolen';
}

/**
 * A lease another consumer has not renewed for a lease duration, by this consumer's clock: KCL's
 * rule, which needs no clocks in agreement, only the counter.
 */
export function isExpired(lease: Lease, sightings: ReadonlyMap<string, Sighting>, now: number, durationMs: number) {
  const seen = sightings.get(lease.shardId);
  return (
    lease.owner !== undefined && seen !== undefined && seen.counter === lease.counter && now - seen.since > durationMs
  );
}

/** A shard that can be read now: not read to its end, and its parents (those with a lease row) are. */
export function isReadable(lease: Lease, byShard: ReadonlyMap<string, Lease>): boolean {
  if (lease.checkpoint.kind === 'shard-end') return false;
  return lease.parentShardIds.every((parent) => {
    const row = byShard.get(parent);
    return row === undefined || row.checkpoint.kind === 'shard-end';
  });
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

/**
 * Which leases to take now, as KCL's lease taker decides: each live consumer's fair share is the
 * readable shards divided by the live consumers, rounded up. Below it, a consumer takes free
 * leases first, then expired ones; when there are none, it steals one lease from the consumer
 * holding the most, when that one holds at least two more than it (asking for it, as KCL 3 does,
 * rather than taking it mid-batch). So N consumers end up within one shard of each other, and a
 * lost consumer's shards are taken within a lease duration.
 */
export function leasesToTake(input: BalanceInput): LeaseToTake[] {
  const { me, held, sightings, now, leaseDurationMs } = input;
  const byShard = new Map(input.leases.map((lease) => [lease.shardId, lease]));
  const readable = input.leases.filter((lease) => isReadable(lease, byShard));
  const expired = (lease: Lease) => isExpired(lease, sightings, now, leaseDurationMs);
  // A lease being handed over counts for the consumer it goes to, so neither side asks for more meanwhile.
  const counts = new Map<string, Lease[]>([[me, []]]);
  for (const lease of readable) {
    const holder = lease.nextOwner ?? lease.owner;
    if (lease.owner === undefined || expired(lease) || holder === undefined || holder === me) continue;
    counts.set(holder, [...(counts.get(holder) ?? []), lease]);
  }
  const target = Math.ceil(readable.length / counts.size);
  const need = target - held.size;
  if (need <= 0) return [];
  // A lease under this consumer's own name that it does not read (an earlier run with the same
  // WORKER_ID) is as free as a released one, unless it is being handed over.
  const free = shuffled(
    readable.filter(
      (lease) =>
        (lease.owner === undefined || (lease.owner === me && lease.nextOwner === undefined)) &&
        !held.has(lease.shardId),
    ),
  );
  const lapsed = shuffled(readable.filter((lease) => lease.owner !== me && expired(lease)));
  const takes: LeaseToTake[] = [
    ...free.map((lease) => ({ lease, from: 'free' as const })),
    ...lapsed.map((lease) => ({ lease, from: 'expired' as const })),
  ].slice(0, need);
  if (takes.length > 0) return takes;
  // The busiest consumer that still has a lease to give: one whose count is made of leases already
  // on their way to it (asked for by it) has none to hand over, and the next busiest is asked instead.
  const givers = [...counts]
    .filter(([owner]) => owner !== me)
    .map(([owner, leases]) => ({
      count: leases.length,
      stealable: leases.filter((lease) => isStealable(lease, owner)),
    }))
    .filter(({ count, stealable }) => count >= held.size + 2 && stealable.length > 0)
    .sort((a, b) => b.count - a.count);
  const victim = shuffled(givers[0]?.stealable ?? [])[0];
  return victim === undefined ? [] : [{ lease: victim, from: 'stolen' }];
}

/** A lease its owner reads and nobody has asked for yet. */
function isStealable(lease: Lease, holder: string): boolean {
  return lease.owner === holder && lease.nextOwner === undefined;
}
