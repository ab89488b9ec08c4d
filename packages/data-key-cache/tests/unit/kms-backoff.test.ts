import { describe, expect, it } from 'vitest';
import { KmsBackoff } from '../../src/kms-backoff.js';

describe('Class: KmsBackoff', () => {
  it('returns windows that double per failure in a row and stop at maxMs', () => {
    // Prepare
    const backoff = new KmsBackoff({ baseMs: 100, maxMs: 1_000, capacity: 10, random: () => 1 });

    // Act
    const windows = Array.from({ length: 6 }, () => backoff.recordFailure('key', 0, new Error('down')));

    // Assess
    expect(windows).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('returns a window between half and all of the ceiling when jittered', () => {
    // Prepare
    const low = new KmsBackoff({ baseMs: 100, maxMs: 1_000, capacity: 10, random: () => 0 });
    const high = new KmsBackoff({ baseMs: 100, maxMs: 1_000, capacity: 10, random: () => 0.999 });

    // Act
    const windows = [low.recordFailure('key', 0, undefined), high.recordFailure('key', 0, undefined)];

    // Assess
    expect(windows).toEqual([50, 100]);
  });

  it('returns no remaining window when the key succeeded or the window has passed', () => {
    // Prepare
    const backoff = new KmsBackoff({ baseMs: 100, maxMs: 1_000, capacity: 10, random: () => 1 });
    backoff.recordFailure('passed', 0, undefined);
    backoff.recordFailure('recovered', 0, undefined);

    // Act
    backoff.recordSuccess('recovered');

    // Assess
    expect(backoff.remainingMs('passed', 40)).toBe(60);
    expect(backoff.remainingMs('passed', 100)).toBe(0);
    expect(backoff.remainingMs('recovered', 0)).toBe(0);
    expect(backoff.remainingMs('other', 0)).toBe(0);
  });
});
