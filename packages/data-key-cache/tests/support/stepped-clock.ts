import type {
  NodeAlgorithmSuite,
  NodeDecryptionMaterial,
  NodeEncryptionMaterial,
  NodeMaterialsManager,
} from '@aws-crypto/client-node';
import type { DecryptionRequest, EncryptionRequest } from '@aws-crypto/material-management';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface HeldAnswer {
  readonly due: number;
  readonly answer: Promise<unknown>;
  readonly land: () => void;
}

/**
 * Simulated time for paced loads against real KMS calls: the clock moves only when the test steps
 * it, so a test paces requests by count (one per step) rather than by timers, and answers held
 * with `hold` land exactly when the clock reaches their due time, however fast moto really was.
 */
export class SteppedClock {
  #now = 1_000_000;
  readonly #held: HeldAnswer[] = [];
  readonly now = () => this.#now;

  /** Answers held and not landed yet. */
  get holding(): number {
    return this.#held.length;
  }

  /** Holds `answer` until the clock has moved `forMs` on from now. */
  hold<T>(answer: Promise<T>, forMs: number): Promise<T> {
    answer.catch(() => {});
    return new Promise<void>((land) => {
      this.#held.push({ due: this.#now + forMs, answer, land });
    }).then(() => answer);
  }

  /**
   * Lets what was started at the current time run, moves the clock `ms` on, then lands every
   * answer due by then (each after moto's real answer) and lets the cache take it in.
   */
  async step(ms: number): Promise<void> {
    await settle();
    this.#now += ms;
    const due = this.#held.filter((held) => held.due <= this.#now);
    for (const held of due) {
      this.#held.splice(this.#held.indexOf(held), 1);
      await held.answer.catch(() => {});
      held.land();
    }
    await settle();
  }
}

/** The materials manager in front of a real one, whose every answer takes `latencyMs` of the stepped clock. */
export class SteppedLatencyBacking implements NodeMaterialsManager {
  readonly #inner: NodeMaterialsManager;
  readonly #clock: SteppedClock;
  readonly #latencyMs: number;

  constructor(inner: NodeMaterialsManager, clock: SteppedClock, latencyMs: number) {
    this.#inner = inner;
    this.#clock = clock;
    this.#latencyMs = latencyMs;
  }

  getEncryptionMaterials(request: EncryptionRequest<NodeAlgorithmSuite>): Promise<NodeEncryptionMaterial> {
    return this.#clock.hold(this.#inner.getEncryptionMaterials(request), this.#latencyMs);
  }

  decryptMaterials(request: DecryptionRequest<NodeAlgorithmSuite>): Promise<NodeDecryptionMaterial> {
    return this.#clock.hold(this.#inner.decryptMaterials(request), this.#latencyMs);
  }
}
