import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeldLeases } from '../../src/held-leases.js';
import { LeaseRenewer } from '../../src/lease-renewer.js';
import type { Lease, WriteOptions } from '../../src/lease-store.js';
import { RecordingLogger } from '../support/recording-logger.js';

const LEASE_DURATION_MS = 10_000;
const INTERVAL_MS = 2_000;

function lease(shardId: string, counter = 1): Lease {
  return {
    shardId,
    owner: 'me',
    counter,
    checkpoint: { kind: 'trim-horizon' },
    parentShardIds: [],
    nextOwner: undefined,
    streamIdentity: undefined,
  };
}

/** A renewer over one held lease, on the test's clock, with a lease table scripted by `renew`. */
function harness(renew: (held: Lease, options: WriteOptions) => Promise<Lease>) {
  let clock = 0;
  const now = () => clock;
  const logger = new RecordingLogger();
  const held = new HeldLeases({ now, writeTimeoutMs: 1_000, logger });
  const entry = held.add(lease('shardId-000000000000'), now());
  const givenUp: string[] = [];
  const renewer = new LeaseRenewer({
    held,
    store: { renew },
    leaseDurationMs: LEASE_DURATION_MS,
    intervalMs: INTERVAL_MS,
    now,
    logger,
    onGiveUp: (shardId) => givenUp.push(shardId),
  });
  /** Moves the clock and the timers together, a step at a time. */
  const advance = async (ms: number) => {
    for (let step = 0; step < ms; step += 100) {
      clock += 100;
      await vi.advanceTimersByTimeAsync(100);
    }
  };
  return { held, entry, renewer, givenUp, logger, advance, now };
}

describe('Class: LeaseRenewer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('renews each held lease every interval on its own timer, raising the counter it writes on', async () => {
    // Prepare
    const renewed: number[] = [];
    const { entry, renewer, advance, held } = harness(async (current) => {
      renewed.push(current.counter);
      return { ...current, counter: current.counter + 1 };
    });

    // Act
    renewer.start();
    await advance(3 * INTERVAL_MS);
    renewer.stop();

    // Assess
    expect(renewed).toEqual([1, 2, 3]);
    expect(entry.lease.counter).toBe(4);
    expect(held.has('shardId-000000000000')).toBe(true);
    expect(entry.finish.signal.aborted).toBe(false);
  });

  it('stops reading a lease whose renewals fail, before another consumer could see it expire', async () => {
    // Prepare: every renewal fails (DynamoDB down); the last write that landed was the take, at 0
    const { entry, renewer, advance, held, givenUp, now } = harness(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    let stoppedAt: number | undefined;
    entry.finish.signal.addEventListener('abort', () => {
      stoppedAt = now();
    });

    // Act
    renewer.start();
    await advance(LEASE_DURATION_MS + INTERVAL_MS);
    renewer.stop();

    // Assess: another consumer takes over no sooner than a lease duration after it saw that write land
    expect(stoppedAt).toBeDefined();
    expect(stoppedAt).toBeLessThan(LEASE_DURATION_MS);
    expect(stoppedAt).toBeGreaterThanOrEqual(LEASE_DURATION_MS - INTERVAL_MS);
    expect(held.size).toBe(0);
    expect(givenUp).toEqual(['shardId-000000000000']);
  });

  it('gives a lease up on time even when a renewal never answers, and asks no second renewal meanwhile', async () => {
    // Prepare: the first renewal hangs (a DynamoDB black hole that ignores the abort)
    let calls = 0;
    const { entry, renewer, advance, now } = harness(() => {
      calls++;
      return new Promise<Lease>(() => {});
    });
    let stoppedAt: number | undefined;
    entry.finish.signal.addEventListener('abort', () => {
      stoppedAt = now();
    });

    // Act
    renewer.start();
    await advance(LEASE_DURATION_MS + INTERVAL_MS);
    renewer.stop();

    // Assess
    expect(calls).toBe(1);
    expect(stoppedAt).toBeLessThan(LEASE_DURATION_MS);
  });

  it('keeps a lease whose renewals land late but within the lease', async () => {
    // Prepare: each renewal answers after 1.5 s
    const { entry, renewer, advance } = harness(
      (current) =>
        new Promise((resolve) => setTimeout(() => resolve({ ...current, counter: current.counter + 1 }), 1_500)),
    );

    // Act
    renewer.start();
    await advance(3 * LEASE_DURATION_MS);
    renewer.stop();

    // Assess
    expect(entry.finish.signal.aborted).toBe(false);
    expect(entry.lease.counter).toBeGreaterThan(10);
  });
});
