import { describe, expect, it } from 'vitest';
import { PACE_WINDOW, UsagePace } from '../../src/usage-pace.js';

const left = { messages: 50, bytes: 1_000_000, ageMs: 60_000 };

function paceOf(gapsMs: readonly number[], bytes = 10) {
  const pace = new UsagePace();
  let now = 1_000;
  pace.record(bytes, now);
  for (const gap of gapsMs) {
    now += gap;
    pace.record(bytes, now);
  }
  return pace;
}

describe('Class: UsagePace', () => {
  it('returns the age left only before two requests have arrived', () => {
    // Act
    const lasts = paceOf([]).lastsMs(left);

    // Assess
    expect(lasts).toBe(60_000);
  });

  it('returns the time the messages left last at the pace of recent requests', () => {
    // Act
    const lasts = paceOf([10, 10, 10]).lastsMs(left);

    // Assess
    expect(lasts).toBe(50 * 10);
  });

  it('returns the time the bytes left last when bytes run out first', () => {
    // Act
    const lasts = paceOf([10, 10, 10], 100_000).lastsMs(left);

    // Assess
    expect(lasts).toBe(10 * 10);
  });

  it('returns the pace of the last 16 requests once a pause has left the window', () => {
    // Prepare
    const gaps = [60_000, ...Array.from({ length: PACE_WINDOW - 1 }, () => 2)];

    // Act
    const justAfterPause = paceOf(gaps.slice(0, -1)).lastsMs(left);
    const pauseForgotten = paceOf(gaps).lastsMs(left);

    // Assess
    expect(justAfterPause).toBe(60_000);
    expect(pauseForgotten).toBe(50 * 2);
  });

  it('returns 0 when requests arrive faster than the clock ticks', () => {
    // Act
    const lasts = paceOf([0, 0, 0]).lastsMs(left);

    // Assess
    expect(lasts).toBe(0);
  });
});
