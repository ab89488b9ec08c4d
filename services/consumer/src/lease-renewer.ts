import type { Logger } from '@records/observability';
import { LeaseLostError } from './errors.js';
import type { HeldLeases } from './held-leases.js';
import type { LeaseStore } from './lease-store.js';

export interface LeaseRenewerOptions {
  readonly held: HeldLeases;
  readonly store: Pick<LeaseStore, 'renew'>;
  /** A lease not renewed for this long may be taken by another consumer (LEASE_DURATION_MS). */
  readonly leaseDurationMs: number;
  /** Time between renewals; each renewal write is bounded by the HeldLeases write timeout. */
  readonly intervalMs: number;
  readonly now: () => number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Told of each lease given up because its renewals had not landed for a lease duration. */
  readonly onGiveUp?: (shardId: string) => void;
}

/**
 * Renews the leases held, on its own timer, as KCL's LeaseRenewer: a slow lease-table read, a shard
 * listing or a take never delays a renewal. A lease whose writes have not landed for a lease
 * duration less one interval is given up (its reading stopped) before any other consumer can see it
 * expire: another consumer counts the lease duration from when it saw the last write land, and that
 * write was sent no later than this consumer's count started.
 */
export class LeaseRenewer {
  readonly #options: LeaseRenewerOptions;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;

  constructor(options: LeaseRenewerOptions) {
    this.#options = options;
  }

  /** When a lease last confirmed is given up unless a write lands before. */
  get giveUpAfterMs(): number {
    return Math.max(0, this.#options.leaseDurationMs - this.#options.intervalMs);
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const schedule = () => {
      this.#timer = setTimeout(() => {
        this.#round = this.renewAll().finally(schedule);
      }, this.#options.intervalMs);
    };
    schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /** One round: every held lease renewed, or given up when it has gone unconfirmed too long. */
  async renewAll(): Promise<void> {
    const { held, store, now, logger } = this.#options;
    await Promise.all(
      held.entries().map(async ([shardId, entry]) => {
        const unconfirmedMs = now() - entry.confirmedAt;
        if (unconfirmedMs >= this.giveUpAfterMs) {
          logger.warn({ shardId, unconfirmedMs }, 'lease not renewed for a lease duration; stopped reading the shard');
          held.lose(entry, 'renewals failed for a lease duration');
          this.#options.onGiveUp?.(shardId);
          return;
        }
        try {
          await held.write(entry, (lease, options) => store.renew(lease, options));
        } catch (error) {
          if (!(error instanceof LeaseLostError)) logger.warn({ shardId, err: error }, 'lease not renewed; retrying');
        }
      }),
    );
  }
}
