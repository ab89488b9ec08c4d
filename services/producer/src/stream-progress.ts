/**
 * What one region's stream has been given and what it has taken: the puts not yet answered (their
 * records, bytes and the oldest one's start) and what the stream acknowledged lately. From them,
 * how long a record put now would wait for the stream at the rate it was seen to take records
 * while it was behind.
 *
 * The shard pacer estimates the same wait from the shards' documented limits (1 MiB and 1,000
 * records a second), which real Kinesis takes; a stream that takes less, for whatever reason (an
 * emulator starved of CPU, a region in trouble, a network in between), is only known by what it
 * actually acknowledges. Like the KPL's and Little's law's view of a queue: with the stream behind,
 * the wait of a new record is the work ahead of it over the rate the work gets done. While the
 * stream keeps up (no put has waited long) the measured rate says only how much was sent, not what
 * the stream can take, so it is not used: the estimate is 0 and the pacer's stands.
 *
 * A sliding window of acknowledgements is a few lines; a rate-meter library (measured, a token
 * bucket) counts events, not the sojourn of the work still in hand that decides when to use them.
 */
export class StreamProgress {
  readonly #now: () => number;
  /** Puts not yet answered, in the order they began (a Map keeps insertion order). */
  readonly #unfinished = new Map<object, { readonly at: number; readonly bytes: number }>();
  #unfinishedBytes = 0;
  /** What calls acknowledged, oldest first, trimmed to the window. */
  readonly #acks: { readonly at: number; readonly records: number; readonly bytes: number }[] = [];
  #ackedRecords = 0;
  #ackedBytes = 0;
  /** The window the acknowledgements are kept for: the last `behindAfterMs` asked, 10 s until then. */
  #windowMs = 10_000;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** A put of `bytes` began. */
  started(token: object, bytes: number): void {
    this.#unfinished.set(token, { at: this.#now(), bytes });
    this.#unfinishedBytes += bytes;
  }

  /** A put was answered, whichever way (taken, refused, given up on). */
  finished(token: object): void {
    const put = this.#unfinished.get(token);
    if (put === undefined) return;
    this.#unfinished.delete(token);
    this.#unfinishedBytes -= put.bytes;
  }

  /** A call to the stream took `records` records of `bytes` in all. */
  acknowledged(records: number, bytes: number): void {
    const now = this.#now();
    this.#acks.push({ at: now, records, bytes });
    this.#ackedRecords += records;
    this.#ackedBytes += bytes;
    this.#trim(now);
  }

  /**
   * How long a record of `bytes` put now would wait for the stream. The stream is behind once its
   * oldest unanswered put has waited `behindAfterMs`; then the wait is what is unanswered, this
   * record included, over what the stream acknowledged in the last `behindAfterMs` (by records or by
   * bytes, whichever is longer), the stream given credit for this one record more: so a stream that
   * acknowledged nothing lately still takes a record or two at light load (a slow call is not an
   * outage), and turns away a burst. 0 while it is not behind.
   */
  waitMs(bytes: number, behindAfterMs: number): number {
    const oldest = this.#unfinished.values().next().value;
    const now = this.#now();
    if (oldest === undefined || now - oldest.at < behindAfterMs) return 0;
    this.#windowMs = behindAfterMs;
    this.#trim(now);
    const records = (this.#unfinished.size + 1) / (this.#ackedRecords + 1);
    const size = (this.#unfinishedBytes + bytes) / (this.#ackedBytes + bytes);
    return Math.max(records, size) * behindAfterMs;
  }

  #trim(now: number): void {
    let drop = 0;
    while (drop < this.#acks.length && (this.#acks[drop]?.at ?? now) < now - this.#windowMs) {
      const ack = this.#acks[drop] as { records: number; bytes: number };
      this.#ackedRecords -= ack.records;
      this.#ackedBytes -= ack.bytes;
      drop += 1;
    }
    if (drop > 0) this.#acks.splice(0, drop);
  }
}
