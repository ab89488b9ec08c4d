import type { Logger } from '@records/observability';
import { LeaseLostError } from './errors.js';
import type { HeldLease, HeldLeases } from './held-leases.js';
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
  // Leases whose renewal is still on its way: not asked again until it lands or fails.
  readonly #renewing = new Set<HeldLease>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LeaseRenewerOptions) {
    this.#options = options;
  }

  /** How long a lease may go without a write landing before it is given up. */
  get giveUpAfterMs(): number {
    return Math.max(0, this.#options.leaseDurationMs - this.#options.intervalMs);
  }

  /** Renews every `intervalMs`, whatever the renewals before are doing. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      void this.renewAll();
    }, this.#options.intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One round: every held lease renewed (unless its renewal before is still on its way), or given
   * up when no write has landed for too long. Resolves when the renewals it started have settled.
   */
  renewAll(): Promise<void> {
    const { held, store, now, logger } = this.#options;
    const started: Promise<void>[] = [];
    for (const [shardId, entry] of held.entries()) {
      const unconfirmedMs = now() - entry.confirmedAt;
      if (unconfirmedMs >= this.giveUpAfterMs) {
        logger.warn({ shardId, unconfirmedMs }, 'lease not renewed for a lease duration; stopped reading the shard');
        held.lose(entry, 'renewals failed for a lease duration');
        this.#options.onGiveUp?.(shardId);
        continue;
      }
      if (this.#renewing.has(entry)) continue;
      this.#renewing.add(entry);
      started.push(
        held
          .write(entry, (lease, options) => store.renew(lease, options))
          .catch((error: unknown) => {
            if (!(error instanceof LeaseLostError)) logger.warn({ shardId, err: error }, 'lease not renewed; retrying');
          })
          .finally(() => this.#renewing.delete(entry)),
      );
    }
    return Promise.all(started).then(() => {});
  }
}
