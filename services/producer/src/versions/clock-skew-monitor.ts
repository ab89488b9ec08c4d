import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import type { PutRecordsObserver } from '../put-records-batcher.js';
import type { ClockMetrics } from './clock-metrics.js';
import { type ClockSample, type ClockVerdict, measureClockOffset } from './clock-offset.js';
import type { ClockTimers, HybridClock } from './hybrid-clock.js';

export interface ClockSkewMonitorOptions {
  readonly clock: Pick<HybridClock, 'now' | 'maxClockSkewMs'>;
  readonly streamName: string;
  readonly kinesis: (region: string) => KinesisClient;
  /** CLOCK_CHECK_INTERVAL_MS: how often the latest put is read back. */
  readonly intervalMs: number;
  readonly metrics: ClockMetrics;
  readonly logger: { warn(details: object, message: string): void; error(details: object, message: string): void };
  readonly timers?: ClockTimers;
}

export type ClockCheckOutcome = ClockVerdict | 'failed' | 'no-sample';

const realTimers: ClockTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Unknown';
}

/**
 * Enforces the skew bound: keeps the latest PutRecords call that landed (seen through the
 * batchers' observer), and every `intervalMs` reads that record back for the stream's arrival
 * time. Proven outside half the bound, the producer is skewed (new records get CLOCK_SKEWED,
 * /readyz is not ready) until a later check proves it within again. A skewed producer puts
 * nothing new, so it measures by putting the latest record's own ciphertext once more: consumers
 * skip that replay, since the table holds its version already.
 */
export class ClockSkewMonitor {
  readonly #options: ClockSkewMonitorOptions;
  readonly #timers: ClockTimers;
  #latest: ClockSample | undefined;
  #checked: ClockSample | undefined;
  #skewed = false;
  #lastCheckAt: number | undefined;
  #timer: unknown;
  #running = false;
  #stopped = false;

  constructor(options: ClockSkewMonitorOptions) {
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
  }

  /** True while the clock is proven further from the streams' than half the bound. */
  get skewed(): boolean {
    return this.#skewed;
  }

  /** For one region's batcher: each landed call becomes the latest sample, and a check is scheduled. */
  observer(region: string): PutRecordsObserver {
    const { clock } = this.#options;
    return {
      sent: () => {
        const sentAt = clock.now();
        return (landed) => {
          this.#latest = { region, sentAt, answeredAt: clock.now(), ...landed };
          this.#schedule();
        };
      },
    };
  }

  stop(): void {
    this.#stopped = true;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One check now: the verdict it reached, or why it reached none. */
  async check(): Promise<ClockCheckOutcome> {
    const { clock, metrics, logger } = this.#options;
    let sample = this.#latest;
    if (sample === undefined) return 'no-sample';
    this.#lastCheckAt = clock.now();
    try {
      if (sample === this.#checked) {
        if (!this.#skewed) return 'no-sample';
        const previous = sample;
        sample = await this.#putAgain(previous);
        // The probe is now the latest call, unless a put landed meanwhile.
        if (this.#latest === previous) this.#latest = sample;
      }
      this.#checked = sample;
      const arrivedAt = await this.#arrival(sample);
      const offset = measureClockOffset(sample, arrivedAt, clock.maxClockSkewMs);
      metrics.offset.set((offset.low + offset.high) / 2 / 1000);
      metrics.checks.inc({ outcome: offset.verdict });
      if (offset.verdict !== 'uncertain') {
        const skewed = offset.verdict === 'skewed';
        if (skewed !== this.#skewed) {
          const details = { region: sample.region, offsetMs: [offset.low, offset.high], boundMs: clock.maxClockSkewMs };
          if (skewed) logger.error(details, 'clock proven skewed from the streams; refusing records');
          else logger.warn(details, 'clock back within the bound; taking records again');
        }
        this.#skewed = skewed;
        metrics.skewed.set(skewed ? 1 : 0);
      }
      return offset.verdict;
    } catch (error) {
      metrics.checks.inc({ outcome: 'failed' });
      logger.warn({ region: sample.region, reason: errorName(error) }, 'clock check failed');
      return 'failed';
    }
  }

  #schedule(): void {
    if (this.#stopped || this.#running || this.#timer !== undefined) return;
    const { clock, intervalMs } = this.#options;
    const delay = this.#lastCheckAt === undefined ? 0 : Math.max(0, this.#lastCheckAt + intervalMs - clock.now());
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#running = true;
      void this.check().finally(() => {
        this.#running = false;
        // A skewed producer has no new puts to wait for: it measures again on its own.
        if (this.#skewed || this.#latest !== this.#checked) this.#schedule();
      });
    }, delay);
  }

  async #arrival(sample: ClockSample): Promise<number> {
    const kinesis = this.#options.kinesis(sample.region);
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.#options.streamName,
        ShardId: sample.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: sample.sequenceNumber,
      }),
    );
    const { Records = [] } = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
    const arrived = Records[0];
    if (arrived?.SequenceNumber !== sample.sequenceNumber || arrived.ApproximateArrivalTimestamp === undefined) {
      throw new Error('the record read back is not the one put');
    }
    return arrived.ApproximateArrivalTimestamp.getTime();
  }

  async #putAgain(sample: ClockSample): Promise<ClockSample> {
    const { clock, streamName } = this.#options;
    const sentAt = clock.now();
    const { Records = [] } = await this.#options.kinesis(sample.region).send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: [{ Data: sample.data, PartitionKey: sample.partitionKey }],
      }),
    );
    const answeredAt = clock.now();
    const entry = Records[0];
    if (entry?.ShardId === undefined || entry.SequenceNumber === undefined) throw new Error('the probe was not taken');
    return { ...sample, sentAt, answeredAt, shardId: entry.ShardId, sequenceNumber: entry.SequenceNumber };
  }
}
