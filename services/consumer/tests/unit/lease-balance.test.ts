import { describe, expect, it } from 'vitest';
import { type BalanceInput, leasesToTake } from '../../src/lease-balance.js';
import type { Lease } from '../../src/lease-store.js';

function lease(shardId: string, owner: string | undefined, nextOwner?: string): Lease {
  return {
    shardId,
    owner,
    counter: 1,
    checkpoint: { kind: 'trim-horizon' },
    parentShardIds: [],
    nextOwner,
    streamIdentity: undefined,
  };
}

function input(me: string, leases: Lease[], held: string[]): BalanceInput {
  return { me, leases, held: new Set(held), sightings: new Map(), now: 0, leaseDurationMs: 10_000 };
}

describe('Function: leasesToTake', () => {
  it('asks the busiest consumer for one lease when it holds two more', () => {
    const leases = [lease('s0', 'a'), lease('s1', 'a'), lease('s2', 'a'), lease('s3', 'b')];

    const takes = leasesToTake(input('c', leases, []));

    expect(takes).toHaveLength(1);
    expect(takes[0]?.from).toBe('stolen');
    expect(takes[0]?.lease.owner).toBe('a');
  });

  it('counts a lease being handed over for the consumer it goes to, so nobody asks again meanwhile', () => {
    const leases = [lease('s0', 'a'), lease('s1', 'a', 'c'), lease('s2', 'b'), lease('s3', 'b')];

    expect(leasesToTake(input('c', leases, ['s1']))).toEqual([]);
    expect(leasesToTake(input('a', leases, ['s0']))).toEqual([]);
  });

  it('asks the busiest consumer that has a lease to give, not one whose count is leases on their way to it', () => {
    // Prepare: b is being handed two of a's leases, so a reads two and b is owed two; c holds none
    const leases = [lease('s0', 'a', 'b'), lease('s1', 'a', 'b'), lease('s2', 'a'), lease('s3', 'a')];

    // Act
    const takes = leasesToTake(input('c', leases, []));

    // Assess: one of the two leases a reads and nobody asked for
    expect(takes).toHaveLength(1);
    expect(takes[0]?.from).toBe('stolen');
    expect(['s2', 's3']).toContain(takes[0]?.lease.shardId);
  });

  it('asks nobody when the busiest holds fewer than two more than it', () => {
    // Prepare
    const leases = [lease('s0', 'a'), lease('s1', 'a'), lease('s2', 'c'), lease('s3', 'b')];

    // Act
    const takes = leasesToTake(input('c', leases, ['s2']));

    // Assess
    expect(takes).toEqual([]);
  });
});
