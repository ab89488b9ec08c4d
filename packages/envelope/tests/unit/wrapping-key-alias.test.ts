import type { KMS } from '@aws-sdk/client-kms';
import { WrappingKeyAlias } from '@records/envelope';
import { describe, expect, it } from 'vitest';

const REGION = 'us-east-1';
const arn = (id: string) => `arn:aws:kms:${REGION}:111122223333:key/${id}`;

/** A KMS whose alias points where the test says, counting DescribeKey calls. */
function fakeKms() {
  const state = { target: arn('k0'), calls: 0, failing: false };
  const client = {
    describeKey: async () => {
      state.calls += 1;
      if (state.failing) throw new Error('KMS is down');
      return { KeyMetadata: { Arn: state.target } };
    },
  } as unknown as KMS;
  return { state, kms: () => client };
}

function tracked(options: { maxPreviousKeys?: number } = {}) {
  const clock = { now: 0 };
  const { state, kms } = fakeKms();
  const alias = new WrappingKeyAlias({
    alias: 'alias/records',
    initialArns: { [REGION]: arn('k0') },
    kms,
    refreshMs: 300_000,
    keepPreviousMs: 86_400_000,
    ...options,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
  });
  return { alias, state, clock };
}

describe('Class: WrappingKeyAlias', () => {
  it('looks at the alias again only once refreshMs has passed since the last look', async () => {
    // Prepare
    const { alias, state, clock } = tracked();
    state.target = arn('k1');

    // Act
    clock.now = 299_999;
    alias.refreshIfDue();
    const early = state.calls;
    clock.now = 300_000;
    alias.refreshIfDue();
    alias.refreshIfDue();
    await alias.refreshNow();

    // Assess: the second due call joined the first; refreshNow joined the look in flight
    expect(early).toBe(0);
    expect(state.calls).toBe(1);
    expect(alias.current(REGION)).toBe(arn('k1'));
    expect(alias.accepted(REGION)).toEqual([arn('k1'), arn('k0')]);
  });

  it('waits out the gap since the last look before looking again on demand, and shares that look', async () => {
    // Prepare
    const { alias, state, clock } = tracked();
    state.target = arn('k1');

    // Act
    await Promise.all([alias.refreshNow(), alias.refreshNow(), alias.refreshNow()]);

    // Assess
    expect(state.calls).toBe(1);
    expect(clock.now).toBe(1_000);
    expect(alias.current(REGION)).toBe(arn('k1'));
  });

  it('keeps a previous key keepPreviousMs after the move was seen, and no longer', async () => {
    // Prepare
    const { alias, state, clock } = tracked();
    state.target = arn('k1');
    await alias.refreshNow();
    const movedAt = clock.now;

    // Act
    clock.now = movedAt + 86_400_000;
    const inWindow = alias.accepted(REGION);
    clock.now = movedAt + 86_400_001;
    const afterWindow = alias.accepted(REGION);

    // Assess
    expect(inWindow).toEqual([arn('k1'), arn('k0')]);
    expect(afterWindow).toEqual([arn('k1')]);
  });

  it('keeps at most maxPreviousKeys previous keys, the oldest dropped first', async () => {
    // Prepare
    const { alias, state } = tracked({ maxPreviousKeys: 2 });

    // Act
    for (const id of ['k1', 'k2', 'k3']) {
      state.target = arn(id);
      await alias.refreshNow();
    }

    // Assess
    expect(alias.accepted(REGION)).toEqual([arn('k3'), arn('k2'), arn('k1')]);
  });

  it('keeps its keys and throws KEY_ALIAS_UNAVAILABLE when KMS does not answer a look on demand', async () => {
    // Prepare
    const { alias, state } = tracked();
    state.failing = true;

    // Act
    const look = alias.refreshNow();

    // Assess
    await expect(look).rejects.toMatchObject({ code: 'KEY_ALIAS_UNAVAILABLE' });
    expect(alias.accepted(REGION)).toEqual([arn('k0')]);
  });
});
