/**
 * What one region's stream has in hand and how fast it answers: the puts not yet answered (their
 * records and bytes), the calls out to the stream, and what it acknowledged since the oldest of
 * them went out. From them, how long a record put now would wait for the stream at the pace it is
 * seen to keep.
 *
 * The shard pacer estimates the same wait from the shards' documented limits (1 MiB and 1,000
 * records a second), which real Kinesis takes; a stream that takes less, for whatever reason (an
 * emulator starved of CPU, a region in trouble, a network in between), is only known by what it
 * actually answers. The pace is measured over the age of the oldest unanswered call: what the
 * stream acknowledged since that call went out, plus, while the call is not yet overdue, the call
 * itself, as if it were answered now (a slow call at light load, or a big batch, is no outage);
 * once it is overdue, only one record more. Overdue is past the stream's usual answer time, as TCP
 * sets its retransmission timeout (RFC 6298: the smoothed answer time and four times its mean
 * deviation, with Linux's 200 ms floor, and 200 ms before any call was answered). So the estimate
 * never rests on an idle stream's low throughput (with no call out there is none), and a stream
 * that leaves a growing pile unanswered past its usual time is found before the pile outlives its
 * budget.
 *
 * Little's law on the stream's own queue in a few lines; a rate-meter library counts events over a
 * fixed window, where this window is set by the work still in hand.
 */
export class StreamProgress {
  readonly #now: () => number;
  /** Puts not yet answered, by their token. */
  readonly #unfinished = new Map<object, number>();
  #unfinishedBytes = 0;
  /** Calls out to the stream, in the order they went out (a Map keeps insertion order). */
  readonly #calls = new Map<object, { readonly at: number; readonly records: number; readonly bytes: number }>();
  /** What answered calls acknowledged, oldest first, since the oldest call still out went out. */
  readonly #acks: { readonly at: number; readonly records: number; readonly bytes: number }[] = [];
  #ackedRecords = 0;
  #ackedBytes = 0;
  /** The calls' answer time, smoothed, and its mean deviation (RFC 6298's SRTT and RTTVAR). */
  #smoothedMs: number | undefined;
  #deviationMs = 0;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** A put of `bytes` began. */
  started(token: object, bytes: number): void {
    this.#unfinished.set(token, bytes);
    this.#unfinishedBytes += bytes;
  }

  /** A put was answered, whichever way (taken, refused, given up on). */
  finished(token: object): void {
    const bytes = this.#unfinished.get(token);
    if (bytes === undefined) return;
    this.#unfinished.delete(token);
    this.#unfinishedBytes -= bytes;
  }

  /** A call of `records` records and `bytes` bytes went out to the stream. */
  sent(call: object, records: number, bytes: number): void {
    this.#calls.set(call, { at: this.#now(), records, bytes });
  }

  /** A call came back, the stream having taken `records` of its records, `bytes` in all (0 when it failed). */
  answered(call: object, records: number, bytes: number): void {
    const sent = this.#calls.get(call);
    this.#calls.delete(call);
    const now = this.#now();
    if (sent !== undefined) this.#sample(now - sent.at);
    if (records > 0) {
      this.#acks.push({ at: now, records, bytes });
      this.#ackedRecords += records;
      this.#ackedBytes += bytes;
    }
    this.#trim();
  }

  /**
   * How long a record of `bytes` put now would wait for the stream: what is unanswered, this record
   * included, at the pace the stream kept since its oldest unanswered call went out (what it
   * acknowledged since, and that call while not overdue, else this one record), by records or by
   * bytes, whichever is longer. 0 with no call out.
   */
  waitMs(bytes: number): number {
    const oldest = this.#calls.values().next().value;
    if (oldest === undefined) return 0;
    const age = this.#now() - oldest.at;
    const onTime = age <= this.overdueAfterMs();
    const records = (this.#unfinished.size + 1) / (this.#ackedRecords + (onTime ? oldest.records : 1));
    const size = (this.#unfinishedBytes + bytes) / (this.#ackedBytes + (onTime ? oldest.bytes : bytes));
    return Math.max(records, size) * age;
  }

  /** When a call out is overdue: RFC 6298's retransmission timeout over the calls' answer times, at least 200 ms. */
  overdueAfterMs(): number {
    if (this.#smoothedMs === undefined) return 200;
    return Math.max(200, this.#smoothedMs + 4 * this.#deviationMs);
  }

  #sample(ms: number): void {
    if (this.#smoothedMs === undefined) {
      this.#smoothedMs = ms;
      this.#deviationMs = ms / 2;
      return;
    }
    this.#deviationMs = 0.75 * this.#deviationMs + 0.25 * Math.abs(this.#smoothedMs - ms);
    this.#smoothedMs = 0.875 * this.#smoothedMs + 0.125 * ms;
  }

  /** Drops acknowledgements from before the oldest call still out: they say nothing of its wait. */
  #trim(): void {
    const since = this.#calls.values().next().value?.at ?? Number.POSITIVE_INFINITY;
    let drop = 0;
    while (drop < this.#acks.length && (this.#acks[drop] as { at: number }).at < since) {
      const ack = this.#acks[drop] as { records: number; bytes: number };
      this.#ackedRecords -= ack.records;
      this.#ackedBytes -= ack.bytes;
      drop += 1;
    }
    if (drop > 0) this.#acks.splice(0, drop);
  }
}
