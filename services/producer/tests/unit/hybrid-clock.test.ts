import { compareRecordVersions, MAX_VERSION_COUNTER, parseRecordVersion } from '@records/record-item';
import { describe, expect, it } from 'vitest';
import { HybridClock } from '../../src/versions/hybrid-clock.js';
import { ManualClock } from '../support/manual-clock.js';

const NODE = 'a1b2c3d4';

describe('Class: HybridClock', () => {
  it('returns versions that strictly increase while the clock stands still or steps back', () => {
    // Prepare
    const readings = [1_000, 1_000, 999, 500, 1_001, 1_001];
    const clock = new HybridClock({ now: () => readings.shift() ?? 0, maxClockSkewMs: 50, nodeId: NODE });

    // Act
    const versions = Array.from({ length: 6 }, () => clock.next());

    // Assess
    expect(versions.map(({ physicalMs, counter }) => [physicalMs, counter])).toEqual([
      [1_000, 0],
      [1_000, 1],
      [1_000, 2],
      [1_000, 3],
      [1_001, 0],
      [1_001, 1],
    ]);
    const texts = versions.map((version) => version.text);
    expect(new Set(texts).size).toBe(texts.length);
    expect([...texts].sort()).toEqual(texts);
  });

  it('borrows the next millisecond when the counter overflows within one', () => {
    // Prepare
    const clock = new HybridClock({ now: () => 1_000, maxClockSkewMs: 50, nodeId: NODE });
    for (let count = 0; count < MAX_VERSION_COUNTER; count++) clock.next();

    // Act
    const last = clock.next();
    const overflowed = clock.next();
    const after = clock.next();

    // Assess
    expect([last.physicalMs, last.counter]).toEqual([1_000, MAX_VERSION_COUNTER]);
    expect([overflowed.physicalMs, overflowed.counter]).toEqual([1_001, 0]);
    expect([after.physicalMs, after.counter]).toEqual([1_001, 1]);
    expect(last.text < overflowed.text).toBe(true);
  });

  it('sets apart two processes that read the same millisecond by their node ids', () => {
    // Prepare
    const first = new HybridClock({ now: () => 1_000, maxClockSkewMs: 50, nodeId: '0000000a' });
    const second = new HybridClock({ now: () => 1_000, maxClockSkewMs: 50, nodeId: '0000000b' });

    // Act
    const a = first.next();
    const b = second.next();

    // Assess
    expect(a.text).not.toBe(b.text);
    expect(compareRecordVersions(a, b)).toBe(-1);
    expect(a.text < b.text).toBe(true);
  });

  it('returns a random 8-hex-digit node id per clock when none is given', () => {
    // Act
    const ids = new Set(Array.from({ length: 20 }, () => new HybridClock({ now: () => 0, maxClockSkewMs: 1 }).nodeId));

    // Assess
    expect(ids.size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}$/);
  });

  it('renders versions that parse back to themselves', () => {
    // Prepare
    const clock = new HybridClock({ now: () => 1_764_790_000_123, maxClockSkewMs: 50, nodeId: NODE });

    // Act
    const version = clock.next();

    // Assess
    expect(version.text).toBe('000001764790000123-000000-a1b2c3d4');
    expect(parseRecordVersion(version.text)).toEqual({ physicalMs: 1_764_790_000_123, counter: 0, nodeId: NODE });
  });
});

describe('Method: HybridClock.waitUntilAfter', () => {
  it('resolves only once the clock reads past the version plus the skew bound', async () => {
    // Prepare
    const manual = new ManualClock(10_000);
    const clock = new HybridClock({ now: manual.now, maxClockSkewMs: 50, nodeId: NODE, timers: manual });
    const version = clock.next();
    let done = false;

    // Act
    const waiting = clock.waitUntilAfter(version).then(() => {
      done = true;
    });
    await manual.advance(50);
    const atBound = done;
    await manual.advance(1);

    // Assess
    await waiting;
    expect(atBound).toBe(false);
    expect(done).toBe(true);
    expect(manual.now()).toBe(10_051);
  });

  it('waits again when a timer fires before the clock has moved far enough', async () => {
    // Prepare: the clock stands still while the first timer fires.
    let now = 10_000;
    const fired: number[] = [];
    const timers = {
      pending: [] as (() => void)[],
      setTimeout(callback: () => void, ms: number) {
        fired.push(ms);
        this.pending.push(callback);
        return callback;
      },
      clearTimeout() {},
    };
    const clock = new HybridClock({ now: () => now, maxClockSkewMs: 20, nodeId: NODE, timers });
    const version = clock.next();
    let done = false;
    const waiting = clock.waitUntilAfter(version).then(() => {
      done = true;
    });

    // Act
    timers.pending.shift()?.();
    now += 21;
    timers.pending.shift()?.();
    await waiting;

    // Assess
    expect(fired).toEqual([21, 21]);
    expect(done).toBe(true);
  });

  it('resolves at once when the clock is already past the bound', async () => {
    // Prepare
    const manual = new ManualClock(10_000);
    const clock = new HybridClock({ now: manual.now, maxClockSkewMs: 50, nodeId: NODE, timers: manual });
    const version = clock.next();
    await manual.advance(100);

    // Act
    await clock.waitUntilAfter(version);

    // Assess
    expect(manual.pending).toBe(0);
  });

  it('rejects with the reason and clears its timer when the signal aborts', async () => {
    // Prepare
    const manual = new ManualClock(10_000);
    const clock = new HybridClock({ now: manual.now, maxClockSkewMs: 50, nodeId: NODE, timers: manual });
    const controller = new AbortController();
    const waiting = clock.waitUntilAfter(clock.next(), controller.signal);

    // Act
    controller.abort(new Error('deadline'));

    // Assess
    await expect(waiting).rejects.toThrow('deadline');
    expect(manual.pending).toBe(0);
  });
});
