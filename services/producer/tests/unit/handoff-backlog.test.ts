import { describe, expect, it } from 'vitest';
import { HandoffBacklog } from '../../src/handoff/handoff-backlog.js';

describe('Class: HandoffBacklog', () => {
  it('admits entries up to the record bound over every table, and again once one is delivered', () => {
    // Prepare: two tables hold entries for one target
    const backlog = new HandoffBacklog({ maxRecords: 3, maxBytes: 1_000 });
    backlog.counted('eu-west-1', 'us-east-1', { entries: 1, bytes: 10, oldestCreatedAt: 500 });
    backlog.added('eu-west-1', 'ap-south-1', 10, 700);

    // Act
    const third = backlog.admits('eu-west-1', 10);
    backlog.added('eu-west-1', 'us-east-1', 10, 800);
    const fourth = backlog.admits('eu-west-1', 10);
    backlog.delivered('eu-west-1', 'ap-south-1', 10);
    const afterDelivery = backlog.admits('eu-west-1', 10);

    // Assess
    expect([third, fourth, afterDelivery]).toEqual([true, false, true]);
    expect(backlog.pending('eu-west-1')).toEqual({ entries: 2, bytes: 20, oldestCreatedAt: 500 });
    expect(backlog.pending('us-east-1')).toEqual({ entries: 0, bytes: 0, oldestCreatedAt: undefined });
  });

  it('refuses an entry that would pass the byte bound, and forgets the oldest age once a table is empty', () => {
    // Prepare
    const backlog = new HandoffBacklog({ maxRecords: 100, maxBytes: 100 });
    backlog.added('eu-west-1', 'us-east-1', 90, 1_000);

    // Act
    const tooBig = backlog.admits('eu-west-1', 11);
    const fits = backlog.admits('eu-west-1', 10);
    backlog.delivered('eu-west-1', 'us-east-1', 90);

    // Assess
    expect([tooBig, fits]).toEqual([false, true]);
    expect(backlog.pending('eu-west-1').oldestCreatedAt).toBeUndefined();
  });

  it('replaces a table running count with what the table was counted to hold', () => {
    // Prepare: this process wrote two entries, another producer delivered them and wrote five more
    const backlog = new HandoffBacklog({ maxRecords: 100, maxBytes: 10_000 });
    backlog.added('eu-west-1', 'us-east-1', 10, 1_000);
    backlog.added('eu-west-1', 'us-east-1', 10, 1_001);

    // Act
    backlog.counted('eu-west-1', 'us-east-1', { entries: 5, bytes: 50, oldestCreatedAt: 2_000 });

    // Assess
    expect(backlog.pending('eu-west-1')).toEqual({ entries: 5, bytes: 50, oldestCreatedAt: 2_000 });
  });

  it('keeps what this process wrote while a count of the table was being read', () => {
    // Prepare: two entries written; a count starts, a third is written while it reads
    const backlog = new HandoffBacklog({ maxRecords: 3, maxBytes: 1_000 });
    backlog.added('eu-west-1', 'us-east-1', 10, 100);
    backlog.added('eu-west-1', 'us-east-1', 10, 200);
    const since = backlog.countStarts('eu-west-1', 'us-east-1');
    backlog.added('eu-west-1', 'us-east-1', 10, 300);

    // Act: the read saw only the first two
    backlog.counted('eu-west-1', 'us-east-1', { entries: 2, bytes: 20, oldestCreatedAt: 100 }, since);

    // Assess: three held, so a fourth is refused
    expect(backlog.pending('eu-west-1')).toEqual({ entries: 3, bytes: 30, oldestCreatedAt: 100 });
    expect(backlog.admits('eu-west-1', 10)).toBe(false);
  });
});
