import { describe, expect, it } from 'vitest';
import { StreamProgress } from '../../src/stream-progress.js';

/** A clock the test steps by hand. */
function manualClock() {
  let now = 0;
  return { now: () => now, to: (ms: number) => (now = ms) };
}

describe('Class: StreamProgress', () => {
  it('estimates no wait while no call is out to the stream, whatever is in hand', () => {
    // Prepare: 50 puts in hand since 0, none sent (lingering, or held for their shard's pace)
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    for (let index = 0; index < 50; index++) progress.started({}, 1_000);

    // Act
    clock.to(5_000);
    const wait = progress.waitMs(1_000);

    // Assess
    expect(wait).toBe(0);
  });

  it('estimates what is in hand at the pace kept since the oldest unanswered call went out, that call credited, by records or bytes', () => {
    // Prepare: 10 puts of 100 bytes; a call of 4 sent at 0, still out; a call of 2 sent at 100 and answered at 300
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    const puts = Array.from({ length: 10 }, () => ({}));
    for (const put of puts) progress.started(put, 100);
    const slow = {};
    progress.sent(slow, 4, 400);
    clock.to(100);
    const quick = {};
    progress.sent(quick, 2, 200);
    clock.to(300);
    progress.answered(quick, 2, 200);
    progress.finished(puts[8] as object);
    progress.finished(puts[9] as object);

    // Act: at 500 the slow call has been out 500 ms
    clock.to(500);
    const small = progress.waitMs(100);
    const large = progress.waitMs(700);

    // Assess: 9 records over 2 + 4 in 500 ms; 900 and 1,500 bytes over 200 + 400
    expect(small).toBe(750);
    expect(large).toBe(1_250);
  });

  it('counts only what was acknowledged since the oldest call still out went out', () => {
    // Prepare: a call of 5 sent at 0 and answered at 100; a call of 1 sent at 200, still out
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    for (let index = 0; index < 4; index++) progress.started({}, 10);
    const first = {};
    progress.sent(first, 5, 50);
    clock.to(100);
    progress.answered(first, 5, 50);
    clock.to(200);
    progress.sent({}, 1, 10);

    // Act
    clock.to(1_200);
    const wait = progress.waitMs(10);

    // Assess: 5 records over the one call out, in 1 s
    expect(wait).toBe(5_000);
  });

  it('credits the call out: one slow call at light load waits about its age, a pile behind it many times that', () => {
    // Prepare: one put in one call on a first stream; twenty puts behind one call of one on a second
    const clock = manualClock();
    const light = new StreamProgress(clock.now);
    light.started({}, 100);
    light.sent({}, 1, 100);
    const piled = new StreamProgress(clock.now);
    for (let index = 0; index < 20; index++) piled.started({}, 100);
    piled.sent({}, 1, 100);

    // Act
    clock.to(300);
    const lightWait = light.waitMs(100);
    const piledWait = piled.waitMs(100);

    // Assess: 2 records at 1 per 300 ms; 21 at the same pace
    expect(lightWait).toBe(600);
    expect(piledWait).toBe(6_300);
  });

  it('estimates no wait once every call is answered, and forgets the acknowledgements of answered calls', () => {
    // Prepare
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    const put = {};
    progress.started(put, 100);
    const call = {};
    progress.sent(call, 1, 100);
    clock.to(50);
    progress.answered(call, 1, 100);
    progress.finished(put);
    const idle = progress.waitMs(100);
    progress.started({}, 100);
    clock.to(60);
    progress.sent({}, 1, 100);

    // Act
    clock.to(2_060);
    const afterwards = progress.waitMs(100);

    // Assess: the earlier call's acknowledgement does not count for the new one
    expect(idle).toBe(0);
    expect(afterwards).toBe(4_000);
  });

  it("credits a call out with its records until it is overdue by the stream's usual answer time (RFC 6298), then with one", () => {
    // Prepare: calls answered in 300, 300 and 400 ms; then a call of 10 out, with 20 puts in hand
    const clock = manualClock();
    const progress = new StreamProgress(clock.now);
    const before = progress.overdueAfterMs();
    for (const ms of [300, 300, 400]) {
      const call = {};
      const at = clock.now();
      progress.sent(call, 1, 10);
      clock.to(at + ms);
      progress.answered(call, 1, 10);
    }
    const overdueAfter = progress.overdueAfterMs();
    for (let index = 0; index < 20; index++) progress.started({}, 10);
    const start = clock.now();
    progress.sent({}, 10, 100);

    // Act
    clock.to(start + 400);
    const onTime = progress.waitMs(10);
    clock.to(start + overdueAfter + 100);
    const overdue = progress.waitMs(10);

    // Assess: RFC 6298 from 300 (SRTT 300, RTTVAR 150), 300 (300, 112.5), 400 (312.5, 109.375)
    expect(before).toBe(200);
    expect(overdueAfter).toBe(312.5 + 4 * 109.375);
    expect(onTime).toBe((21 / 10) * 400);
    expect(overdue).toBe(21 * (overdueAfter + 100));
  });
});
