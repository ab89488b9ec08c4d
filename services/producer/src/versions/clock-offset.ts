/** One PutRecords call as this producer's clock saw it, and where one of its records landed. */
export interface ClockSample {
  readonly region: string;
  /** This producer's clock when the call was sent, and when its answer came, in ms. */
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** The record's bytes (ciphertext) and key, so a skewed producer can measure again by putting them once more. */
  readonly data: Uint8Array;
  readonly partitionKey: string;
}

export type ClockVerdict = 'within' | 'skewed' | 'uncertain';

export interface ClockOffset {
  /** Bounds on the stream's clock minus ours, in ms. */
  readonly low: number;
  readonly high: number;
  readonly verdict: ClockVerdict;
}

/**
 * Where the stream's clock stands from ours, as NTP reasons: the stream stamped the record at `a`
 * (its clock) between our send `s` and our answer `r`, so its offset from us lies in
 * [a - r, a - s], widened by the millisecond both are rounded to. Each producer must stay within
 * half the bound of the streams, so any two stay within the bound of each other. Proven outside
 * means the whole interval is outside; proven within, the whole interval inside; anything else is
 * uncertain (a slow round trip) and changes nothing.
 */
export function measureClockOffset(sample: ClockSample, arrivedAt: number, maxClockSkewMs: number): ClockOffset {
  const low = arrivedAt - sample.answeredAt - 1;
  const high = arrivedAt - sample.sentAt + 1;
  const half = maxClockSkewMs / 2;
  if (low > half || high < -half) return { low, high, verdict: 'skewed' };
  if (low >= -half && high <= half) return { low, high, verdict: 'within' };
  return { low, high, verdict: 'uncertain' };
}
