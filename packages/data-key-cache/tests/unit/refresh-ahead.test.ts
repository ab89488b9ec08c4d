import { describe, expect, it } from 'vitest';
import { type KeySupply, keysToFetch, type RefreshAheadPlan } from '../../src/refresh-ahead.js';

const plan: RefreshAheadPlan = { share: 0.8, latencyMultiple: 2, maxKeysAhead: 4 };
const supply: KeySupply = {
  shareReached: false,
  ready: 0,
  inFlight: 0,
  coverMs: 1_000,
  freshKeyMs: 1_000,
  latencyMs: 100,
};

describe('Function: keysToFetch', () => {
  it.each([
    ['nothing while what is held lasts longer than the lead', {}, 0],
    ['one key when the share is reached and nothing is on the way', { shareReached: true }, 1],
    ['nothing at the share when a key is already held ahead', { shareReached: true, ready: 1 }, 0],
    ['nothing at the share when a key is already on the way', { shareReached: true, inFlight: 1 }, 0],
    ['one key when the rest of the key lasts less than the lead', { coverMs: 150 }, 1],
    ['enough keys to cover the lead', { coverMs: 20, freshKeyMs: 70 }, 3],
    ['no more than maxKeysAhead, calls in flight included', { coverMs: 0, freshKeyMs: 10, inFlight: 1 }, 3],
    ['calls in flight counted as cover', { coverMs: 20, freshKeyMs: 70, inFlight: 2 }, 1],
    ['maxKeysAhead when the pace is too fast to measure', { coverMs: 0, freshKeyMs: 0 }, 4],
    ['nothing before a KMS call was measured', { coverMs: 0, latencyMs: 0 }, 0],
  ] as const)('returns %s', (_case, overrides, expected) => {
    // Act
    const due = keysToFetch(plan, { ...supply, ...overrides });

    // Assess
    expect(due).toBe(expected);
  });

  it('returns one key at the share and never more when adaptation is off', () => {
    // Prepare
    const fixed: RefreshAheadPlan = { share: 0.8, latencyMultiple: 0, maxKeysAhead: 1 };

    // Act
    const atShare = keysToFetch(fixed, { ...supply, shareReached: true, coverMs: 0, freshKeyMs: 0 });
    const beforeShare = keysToFetch(fixed, { ...supply, coverMs: 0, freshKeyMs: 0 });

    // Assess
    expect([atShare, beforeShare]).toEqual([1, 0]);
  });
});
