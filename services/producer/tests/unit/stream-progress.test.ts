import { describe, expect, it } from 'vitest';
import { StreamProgress } from '../../src/stream-progress.js';

/** A clock the test steps by hand. */
function manualClock() {
  let now = 0;
  return { now: () => now, to: (ms: number) => (now = ms) };
}

describe('Class: StreamProgress', () => {
  it('estimates no wait while the oldest unanswered put is younger than behindAfterMs, whatever is in hand', () => {
    // Prepare
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    for (let index = 0; index < 50; index++) progress.started({}, 1_000);

    // Act
    clock.to(999);
    const wait = progress.waitMs(1_000, 1_000);

    // Assess
    expect(wait).toBe(0);
  });

  it('once behind, estimates what is in hand over what the stream acknowledged in the window, by records or bytes, the longer', () => {
    // Prepare: 4 puts of 25 bytes and 6 of 500 at 0; at 500 a call takes the four small ones
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    const small = Array.from({ length: 4 }, () => ({}));
    for (const put of small) progress.started(put, 25);
    for (let index = 0; index < 6; index++) progress.started({}, 500);
    clock.to(500);
    progress.acknowledged(4, 100);
    for (const put of small) progress.finished(put);

    // Act: at 1,000 the oldest of the 6 left has waited 1 s
    clock.to(1_000);
    const wait = progress.waitMs(500, 1_000);

    // Assess: by records, 7 over 4 + 1 windows; by bytes, 3,500 over 100 + 500: the bytes decide
    expect(wait).toBeCloseTo((3_500 / 600) * 1_000, 6);
  });

  it('credits the stream with the record asked about: one slow put lets the next through, a burst behind it does not', () => {
    // Prepare: one put, and twenty more on a second stream, none answered
    const clock = manualClock();
    const single = new StreamProgress(clock.now);
    single.started({}, 100);
    const burst = new StreamProgress(clock.now);
    for (let index = 0; index < 20; index++) burst.started({}, 100);
    const caughtUp = new StreamProgress(clock.now);
    const answered = {};
    caughtUp.started(answered, 100);

    // Act
    clock.to(600);
    const afterSingle = single.waitMs(100, 500);
    const afterBurst = burst.waitMs(100, 500);
    caughtUp.acknowledged(1, 100);
    caughtUp.finished(answered);
    const afterCaughtUp = caughtUp.waitMs(100, 500);

    // Assess: 2 records over 1; 21 over 1; nothing in hand
    expect(afterSingle).toBe(1_000);
    expect(afterBurst).toBe(10_500);
    expect(afterCaughtUp).toBe(0);
  });

  it('forgets acknowledgements older than the window', () => {
    // Prepare: 3 puts at 0; a call takes one at 100
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    const first = {};
    progress.started(first, 100);
    progress.started({}, 100);
    progress.started({}, 100);
    clock.to(100);
    progress.acknowledged(1, 100);
    progress.finished(first);

    // Act
    clock.to(599);
    const inWindow = progress.waitMs(100, 500);
    clock.to(601);
    const outOfWindow = progress.waitMs(100, 500);

    // Assess: 3 over 1 + 1, then 3 over 0 + 1
    expect(inWindow).toBe(750);
    expect(outOfWindow).toBe(1_500);
  });
});
