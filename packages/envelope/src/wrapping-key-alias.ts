import { setTimeout as sleepFor } from 'node:timers/promises';
import type { KMS } from '@aws-sdk/client-kms';
import type { KeyAliasRefreshSettings } from '@records/pipeline-config';
import { KeyAliasUnavailableError } from './errors.js';

type LogFn = (details: Record<string, unknown>, message: string) => void;

export interface WrappingKeyAliasOptions extends Omit<KeyAliasRefreshSettings, 'retiringAlias'> {
  readonly alias: string;
  /** Each region's key ARN as resolved at start-up. */
  readonly initialArns: Readonly<Record<string, string>>;
  /**
   * A second alias an operator points at the key they move `alias` away from: its key is accepted
   * for decryption for as long as it names one, by every process, however recently started.
   */
  readonly retiringAlias?: string;
  /** The retiring alias's key in each region at start-up, where it names one. */
  readonly initialRetiringArns?: Readonly<Record<string, string | undefined>>;
  readonly kms: (region: string) => KMS;
  /** Previous keys kept per region besides the current one; the oldest goes first. Default 16. */
  readonly maxPreviousKeys?: number;
  /** Least time between two looks asked for by an unknown key; they wait for it. Default 1 s. */
  readonly minRefreshGapMs?: number;
  readonly logger?: { readonly info: LogFn; readonly warn: LogFn };
  /** Milliseconds since an epoch; tests pass a clock they move by hand. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface RegionKeys {
  current: string;
  /** Key ARN to the time the alias was first seen pointing elsewhere. */
  readonly previous: Map<string, number>;
  retiring: string | undefined;
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === 'NotFoundException';
}

/** The key `alias` names in `region`, or undefined when there is no such alias. */
export async function describeOptionalAlias(kms: KMS, alias: string): Promise<string | undefined> {
  try {
    return (await kms.describeKey({ KeyId: alias })).KeyMetadata?.Arn;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const DEFAULT_MAX_PREVIOUS_KEYS = 16;
const DEFAULT_MIN_REFRESH_GAP_MS = 1_000;

/**
 * Which KMS keys an alias names in each region, now and within the window before. KMS keeps no
 * history of an alias, so what this process saw is all it knows: a key becomes "previous" when a
 * look finds the alias pointing elsewhere, and stays accepted for decryption `keepPreviousMs` after.
 *
 * With a retiring alias, the key it names is accepted too, for as long as it names it: that is what
 * a process started after the move knows of the key before.
 *
 * Two kinds of look, each one DescribeKey per region and alias: a background one when a key is used
 * `refreshMs` after the last look (no timer to stop; an idle process makes no calls), and one asked
 * for by a data key under a key this set does not know, which waits for it. Those are single-flight
 * and at least `minRefreshGapMs` apart, so a stream of foreign records costs one call per gap.
 */
export class WrappingKeyAlias {
  readonly #options: WrappingKeyAliasOptions;
  readonly #regions = new Map<string, RegionKeys>();
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #lastLookAt: number;
  #flight: Promise<void> | undefined;
  #flightStartedAt = 0;

  constructor(options: WrappingKeyAliasOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => sleepFor(ms, undefined, { ref: false }));
    this.#lastLookAt = this.#now();
    for (const [region, arn] of Object.entries(options.initialArns)) {
      this.#regions.set(region, { current: arn, previous: new Map(), retiring: options.initialRetiringArns?.[region] });
    }
  }

  get alias(): string {
    return this.#options.alias;
  }

  /** The key new data keys are wrapped under in `region`. */
  current(region: string): string | undefined {
    return this.#regions.get(region)?.current;
  }

  /**
   * Keys whose data keys are unwrapped in `region`: the current one, then those still in the
   * window, newest first, then the retiring alias's.
   */
  accepted(region: string): readonly string[] {
    const keys = this.#regions.get(region);
    if (keys === undefined) return [];
    const oldest = this.#now() - this.#options.keepPreviousMs;
    for (const [arn, leftAt] of keys.previous) if (leftAt < oldest) keys.previous.delete(arn);
    const accepted = [keys.current, ...[...keys.previous.keys()].reverse()];
    if (keys.retiring !== undefined && !accepted.includes(keys.retiring)) accepted.push(keys.retiring);
    return accepted;
  }

  /** Starts a background look when the last one is `refreshMs` old; its failure is only logged. */
  refreshIfDue(): void {
    if (this.#flight !== undefined || this.#now() - this.#lastLookAt < this.#options.refreshMs) return;
    this.#look().catch((error: unknown) =>
      this.#options.logger?.warn(
        { alias: this.#options.alias, err: error },
        'the key alias could not be resolved again',
      ),
    );
  }

  /**
   * Looks again now, or as soon as the gap allows, or joins the look in flight. Throws
   * KeyAliasUnavailableError when KMS does not answer: the record is not known to be bad.
   */
  async refreshNow(): Promise<void> {
    const askedAt = this.#now();
    // A look already on its way may have asked KMS before the alias moved: only a later one will do.
    for (let flight = this.#flight; flight !== undefined; flight = this.#flight) {
      if (this.#flightStartedAt >= askedAt) return flight;
      await flight.catch(() => {});
    }
    const waitMs = this.#lastLookAt + (this.#options.minRefreshGapMs ?? DEFAULT_MIN_REFRESH_GAP_MS) - this.#now();
    return this.#look(Math.max(0, waitMs));
  }

  #look(waitMs = 0): Promise<void> {
    this.#flightStartedAt = this.#now() + waitMs;
    const flight = (async () => {
      try {
        if (waitMs > 0) await this.#sleep(waitMs);
        const found = await Promise.all(
          [...this.#regions.keys()].map(
            async (region) =>
              [region, ...(await Promise.all([this.#resolve(region), this.#resolveRetiring(region)]))] as const,
          ),
        );
        for (const [region, arn, retiring] of found) {
          this.#point(region, arn);
          const keys = this.#regions.get(region);
          if (keys !== undefined && retiring !== 'unknown') keys.retiring = retiring;
        }
      } finally {
        this.#lastLookAt = this.#now();
        this.#flight = undefined;
      }
    })();
    this.#flight = flight;
    return flight;
  }

  async #resolve(region: string): Promise<string> {
    try {
      const { KeyMetadata } = await this.#options.kms(region).describeKey({ KeyId: this.#options.alias });
      if (KeyMetadata?.Arn === undefined) throw new Error('DescribeKey returned no key ARN');
      return KeyMetadata.Arn;
    } catch (error) {
      throw new KeyAliasUnavailableError(`KMS key ${this.#options.alias} in ${region} could not be resolved`, {
        cause: error,
      });
    }
  }

  /** 'unknown' when KMS did not say: the key last seen stays accepted. */
  async #resolveRetiring(region: string): Promise<string | undefined | 'unknown'> {
    const { retiringAlias } = this.#options;
    if (retiringAlias === undefined) return undefined;
    try {
      return await describeOptionalAlias(this.#options.kms(region), retiringAlias);
    } catch (error) {
      this.#options.logger?.warn(
        { alias: retiringAlias, region, err: error },
        'the retiring key alias could not be resolved',
      );
      return 'unknown';
    }
  }

  #point(region: string, arn: string): void {
    const keys = this.#regions.get(region);
    if (keys === undefined || keys.current === arn) return;
    const from = keys.current;
    keys.previous.delete(arn);
    keys.previous.set(from, this.#now());
    const max = this.#options.maxPreviousKeys ?? DEFAULT_MAX_PREVIOUS_KEYS;
    for (const oldest of keys.previous.keys()) {
      if (keys.previous.size <= max) break;
      keys.previous.delete(oldest);
    }
    keys.current = arn;
    this.#options.logger?.info(
      {
        alias: this.#options.alias,
        region,
        keyArn: arn,
        previousKeyArn: from,
        keepPreviousMs: this.#options.keepPreviousMs,
      },
      'the key alias points to another key',
    );
  }
}
