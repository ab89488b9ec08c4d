import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { hashKey, type PacedShard, ShardPacer, type ShardPacing } from './shard-pacer.js';
import type { StreamPosition } from './stream-position.js';
import { StreamProgress } from './stream-progress.js';

export interface PutRecordsBatcherOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** How long the first record of a batch waits for others to join it. */
  readonly lingerMs: number;
  /**
   * Adaptive linger (PUT_MAX_LINGER_MS): once `lingerMs` is up, a batch that is not full keeps
   * gathering while a call to the stream is in flight, and goes when that call answers, or at the
   * latest this long after its first record. Under light load no call is in flight and records go
   * after `lingerMs`; under load calls carry what arrived while the last one was out, so records
   * per call grow with the load, as the Kinesis Producer Library's buffering does. Off when not
   * above `lingerMs`.
   */
  readonly maxLingerMs?: number;
  /** Kinesis takes at most 500 records in one PutRecords call. */
  readonly maxRecords: number;
  /** …and at most 5 MiB of data and partition keys. */
  readonly maxBytes: number;
  /** Keeps each shard under its write limits; records for a full shard wait while others go. */
  readonly pacing?: ShardPacing;
  /** Sees when each call is sent and where its first record landed (the producer's clock check). */
  readonly observer?: PutRecordsObserver;
  /**
   * Runs each PutRecords call: the region's circuit breaker, which so counts the stream's own
   * answers (calls that fail or time out), never the time a record waited for its shard's pace.
   */
  readonly guard?: <T>(call: () => Promise<T>) => Promise<T>;
  /**
   * A call cut off by a record's deadline sooner than this after it went out fails as
   * UncountedCallAbortError, which the guard does not count: the record had waited out most of its
   * time for its shard's pace, and the stream was given no fair chance to answer.
   */
  readonly guardMinCallMs?: number;
  /** The clock the stream's progress is measured on (performance.now by default); tests step it. */
  readonly now?: () => number;
}

/** A record a PutRecords call landed: its position, and its bytes and key as sent. */
interface LandedRecord extends StreamPosition {
  readonly data: Uint8Array;
  readonly partitionKey: string;
}

export interface PutRecordsObserver {
  /** Called as a call is sent; what it returns is called once, with the call's first record that landed. */
  sent(): (landed: LandedRecord) => void;
}

// While records wait for room on their shard, the queue is looked at again this often: a hot
// shard's records then go in calls of about 50 (at 1,000 a second), not one call each.
const PACING_TICK_MS = 50;

/** One entry of a PutRecords call that Kinesis did not take (its ErrorCode, e.g. ProvisionedThroughputExceededException). */
export class PutRecordsEntryError extends Error {
  readonly $fault: 'server';

  constructor(code: string, message: string | undefined) {
    super(message ?? code);
    this.name = code;
    // Kinesis fails an entry only for throughput, an internal failure or KMS: never the entry's own fault.
    this.$fault = 'server';
  }
}

/** A call cut off by a record's deadline before the stream had a fair chance to answer (see `guardMinCallMs`). */
export class UncountedCallAbortError extends Error {
  constructor(cause: unknown) {
    super('PutRecords call cut off early by a record deadline', { cause });
    this.name = 'UncountedCallAbortError';
  }
}

interface Waiting {
  readonly entry: PutRecordsRequestEntry;
  readonly bytes: number;
  /** The shard it goes to, when paced and the shard map is known. */
  readonly shard: PacedShard | undefined;
  /** Its request's deadline: it is answered when it aborts, and its call is aborted once every record's has. */
  readonly signal: AbortSignal | undefined;
  /** On performance.now: the record goes no later than this, whatever the linger. */
  readonly sendBy: number;
  settled: boolean;
  resolve(position: StreamPosition): void;
  reject(error: unknown): void;
}

/**
 * Puts records to one region's stream in PutRecords calls of up to `maxRecords` records and
 * `maxBytes` bytes, as the Kinesis Producer Library aggregates them: a record waits at most
 * `lingerMs` for others, and a full batch goes at once. Each `put` is one attempt for one record:
 * it resolves with the record's position or rejects with its own error (an entry Kinesis did not
 * take, or the whole call failing), so the caller retries exactly the records that failed.
 */
export class PutRecordsBatcher {
  readonly #options: PutRecordsBatcherOptions;
  /** Records put since the last call went out. */
  #queue: Waiting[] = [];
  #queuedBytes = 0;
  /** Records whose shard had no room at the last call; they go first when it has. */
  #held: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires, on performance.now. */
  #timerAt = Number.POSITIVE_INFINITY;
  /** When the queue's first record arrived. */
  #queueSince = 0;
  /** The earliest `sendBy` of the queued records. */
  #queueSendBy = Number.POSITIVE_INFINITY;
  /** PutRecords calls sent and not yet answered. */
  #inFlight = 0;
  /** The queue is past its linger and waits for the call in flight to answer. */
  #gathering = false;
  readonly #pacer: ShardPacer | undefined;
  /** What the stream has in hand and what it took lately: the wait it is seen to impose. */
  readonly #progress: StreamProgress;

  constructor(options: PutRecordsBatcherOptions) {
    this.#options = options;
    this.#progress = new StreamProgress(options.now);
    this.#pacer =
      options.pacing === undefined
        ? undefined
        : new ShardPacer({ kinesis: options.kinesis, streamName: options.streamName, ...options.pacing });
  }

  /**
   * Queues one record for the next call. `signal` gives up on it: a record still queued leaves the
   * queue, one in a call is answered at once, and the call is aborted once no record waits for it
   * (see `#callSignal`). `sendWithinMs` bounds how long it may linger, so a record near its
   * deadline is not held for others.
   */
  put(
    data: Uint8Array,
    partitionKey: string,
    signal?: AbortSignal,
    sendWithinMs = Number.POSITIVE_INFINITY,
  ): Promise<StreamPosition> {
    return new Promise<StreamPosition>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiting: Waiting = {
        entry: { Data: data, PartitionKey: partitionKey },
        bytes: data.byteLength + Buffer.byteLength(partitionKey),
        shard: this.#pacer?.shardOf(hashKey(partitionKey)),
        signal,
        sendBy: performance.now() + Math.max(0, sendWithinMs),
        settled: false,
        resolve: (position) => {
          if (waiting.settled) return;
          waiting.settled = true;
          this.#progress.finished(waiting);
          signal?.removeEventListener('abort', onAbort);
          resolve(position);
        },
        reject: (error) => {
          if (waiting.settled) return;
          waiting.settled = true;
          this.#progress.finished(waiting);
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        const index = this.#queue.indexOf(waiting);
        if (index >= 0) {
          this.#queue.splice(index, 1);
          this.#queuedBytes -= waiting.bytes;
        }
        const heldAt = this.#held.indexOf(waiting);
        if (heldAt >= 0) this.#held.splice(heldAt, 1);
        if (index >= 0 || heldAt >= 0) this.#leaveBacklog(waiting);
        waiting.reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#progress.started(waiting, waiting.bytes);
      if (waiting.shard !== undefined) {
        waiting.shard.backlogRecords += 1;
        waiting.shard.backlogBytes += waiting.bytes;
      }
      if (this.#queuedBytes + waiting.bytes > this.#options.maxBytes) this.#flush();
      if (this.#queue.length === 0) this.#queueSince = performance.now();
      this.#queue.push(waiting);
      this.#queuedBytes += waiting.bytes;
      this.#queueSendBy = Math.min(this.#queueSendBy, waiting.sendBy);
      if (this.#queue.length >= this.#options.maxRecords || this.#queuedBytes >= this.#options.maxBytes) this.#flush();
      else if (this.#timer === undefined)
        this.#schedule(Math.min(this.#queueSince + this.#options.lingerMs, waiting.sendBy));
      else if (waiting.sendBy < this.#timerAt) this.#schedule(waiting.sendBy);
    });
  }

  #schedule(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, at - performance.now()));
  }

  /**
   * The linger is up: send, unless adaptive linger lets the queue wait for the call in flight
   * (then it goes when that call answers, at its first record's maxLingerMs, or at the earliest
   * `sendBy` of its records, whichever is first).
   */
  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const maxLingerMs = this.#options.maxLingerMs ?? 0;
    const now = performance.now();
    const latest = Math.min(this.#queueSince + maxLingerMs, this.#queueSendBy);
    if (
      maxLingerMs > this.#options.lingerMs &&
      this.#inFlight > 0 &&
      this.#held.length === 0 &&
      this.#queue.length > 0 &&
      now < latest
    ) {
      this.#gathering = true;
      this.#schedule(latest);
      return;
    }
    this.#flush();
  }

  /**
   * How long a record for `partitionKey` would wait if put now, the longer of: for room on its
   * shard, behind what is queued for that shard already (0 when unpaced or while the shard map is
   * not yet known); and behind all the stream has in hand, at the pace it is seen to answer (see
   * StreamProgress).
   */
  queueWaitMs(partitionKey: string, bytes: number): number {
    const size = bytes + Buffer.byteLength(partitionKey);
    const paced = this.#pacer === undefined ? 0 : this.#pacer.waitMs(this.#pacer.shardOf(hashKey(partitionKey)), size);
    return Math.max(paced, this.#progress.waitMs(size));
  }

  #leaveBacklog(waiting: Waiting): void {
    if (waiting.shard === undefined) return;
    waiting.shard.backlogRecords -= 1;
    waiting.shard.backlogBytes -= waiting.bytes;
  }

  /** Sends what is queued now, without waiting out the linger time. */
  flush(): void {
    this.#flush();
  }

  /** Starts listing the stream's shard map for the pacer, if paced (see ShardPacer.refresh). */
  listShards(): void {
    this.#pacer?.refresh();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#gathering = false;
    if (this.#queue.length === 0 && this.#held.length === 0) return;
    const { maxRecords, maxBytes, lingerMs } = this.#options;
    const batch: Waiting[] = [];
    const held: Waiting[] = [];
    let batchBytes = 0;
    let full = false;
    for (const waiting of [...this.#held, ...this.#queue]) {
      // A record larger than maxBytes still goes, alone; Kinesis answers for it.
      const fits = batch.length === 0 || (batch.length < maxRecords && batchBytes + waiting.bytes <= maxBytes);
      full ||= !fits;
      if (fits && (this.#pacer?.take(waiting.shard, waiting.bytes) ?? true)) {
        this.#leaveBacklog(waiting);
        batch.push(waiting);
        batchBytes += waiting.bytes;
      } else held.push(waiting);
    }
    this.#held = held;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#queueSendBy = Number.POSITIVE_INFINITY;
    if (batch.length > 0) void this.#send(batch, batchBytes);
    if (held.length === 0) return;
    // A full call leaves more to send now; records whose shard is full wait for it to refill.
    this.#timerAt = performance.now() + (full ? 0 : Math.max(lingerMs, PACING_TICK_MS));
    this.#timer = setTimeout(() => this.#flush(), full ? 0 : Math.max(lingerMs, PACING_TICK_MS));
  }

  /**
   * A call is aborted once the deadlines of ALL the records it carries have passed: then nobody
   * waits for its answer. A record whose own deadline passes while its call is out is answered at
   * that deadline (its `put` rejects, see `put`) and the call goes on for the others. Aborting at
   * the first deadline instead turned a slow stream into a cascade: every call carries the most
   * pressed record of a burst, so each was cut off at that record's deadline and its other records
   * were put again, until every budget ran out (seen as STREAM_UNAVAILABLE for a burst of 50 KB
   * records on a loaded machine). A record answered 503 can so land after its answer, within one
   * budget; it carries its older version, so consumers never write it over a newer one, and a retry
   * with the same id is idempotent. (An abort stops the client waiting and closes the connection; a
   * request the service had read in full may still be applied. The SDK makes one attempt per call,
   * so nothing resends it.)
   */
  #callSignal(batch: readonly Waiting[]): { readonly signal: AbortSignal | undefined; release(): void } {
    const signals = batch.flatMap((waiting) => (waiting.signal === undefined ? [] : [waiting.signal]));
    // A record that waits without a deadline keeps its call going for as long as the stream takes.
    if (signals.length === 0 || signals.length < batch.length) return { signal: undefined, release: () => {} };
    // Not AbortSignal.any: on Node 20, combining thousands of short-lived deadlines with it blocked
    // the event loop for over a minute in the 2,000-requests test. Listeners removed when the call
    // ends leave nothing behind.
    const controller = new AbortController();
    let open = signals.filter((signal) => !signal.aborted).length;
    const onAbort = (event: Event) => {
      open -= 1;
      if (open === 0) controller.abort((event.target as AbortSignal).reason);
    };
    const release = () => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    };
    for (const signal of signals) if (!signal.aborted) signal.addEventListener('abort', onAbort, { once: true });
    if (open === 0) controller.abort(signals[0]?.reason);
    return { signal: controller.signal, release };
  }

  async #send(batch: Waiting[], batchBytes: number): Promise<void> {
    this.#inFlight += 1;
    const observed = this.#options.observer?.sent();
    // The batch itself is the call's token in the stream's progress.
    this.#progress.sent(batch, batch.length, batchBytes);
    let taken = 0;
    let takenBytes = 0;
    const call = this.#callSignal(batch);
    const abortSignal = call.signal;
    try {
      const call = async () => {
        const sentAt = performance.now();
        try {
          return await this.#options.kinesis.send(
            new PutRecordsCommand({
              StreamName: this.#options.streamName,
              Records: batch.map((waiting) => waiting.entry),
            }),
            abortSignal === undefined ? {} : { abortSignal },
          );
        } catch (error) {
          const early = performance.now() - sentAt < (this.#options.guardMinCallMs ?? 0);
          throw abortSignal?.aborted && early ? new UncountedCallAbortError(error) : error;
        }
      };
      const { Records = [] } = await (this.#options.guard === undefined ? call() : this.#options.guard(call));
      let first: LandedRecord | undefined;
      batch.forEach((waiting, index) => {
        const result = Records[index];
        if (result?.ShardId !== undefined && result.SequenceNumber !== undefined && result.ErrorCode === undefined) {
          this.#pacer?.observe(result.ShardId);
          taken += 1;
          takenBytes += waiting.bytes;
          first ??= {
            shardId: result.ShardId,
            sequenceNumber: result.SequenceNumber,
            data: waiting.entry.Data as Uint8Array,
            partitionKey: waiting.entry.PartitionKey as string,
          };
          waiting.resolve({ shardId: result.ShardId, sequenceNumber: result.SequenceNumber });
        } else {
          waiting.reject(new PutRecordsEntryError(result?.ErrorCode ?? 'MissingResult', result?.ErrorMessage));
        }
      });
      // After every record is settled: what the observer does cannot change their outcome.
      if (first !== undefined) observed?.(first);
    } catch (thrown) {
      const error = thrown instanceof UncountedCallAbortError ? thrown.cause : thrown;
      // Aborted only once every record's deadline passed, so each has had its answer already.
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.#progress.answered(batch, taken, takenBytes);
      call.release();
      this.#inFlight -= 1;
      // What gathered while this call was out goes now.
      if (this.#gathering) this.#flush();
    }
  }
}
