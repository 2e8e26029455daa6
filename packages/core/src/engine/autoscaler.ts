/**
 * Request-rate autoscaling, as SkyServe's `RequestRateAutoscaler` but with hysteresis:
 * the router records each request's time; on every reconcile tick the autoscaler turns
 * the rate over a sliding window into a replica target, moving it only after the demand
 * has pointed the same way for the up- or down-scale delay.
 */
import { InvalidArgumentError, describeValue } from '../errors.js';

/** Options of {@link Autoscaler}. */
export interface AutoscalerOptions {
  /** Lower bound of the target. */
  readonly minReplicas: number;
  /**
   * Upper bound of the target.
   * @default minReplicas
   */
  readonly maxReplicas?: number | undefined;
  /**
   * Requests per second one replica should take. Without it the target is fixed at
   * `minReplicas`.
   * @default undefined
   */
  readonly targetQpsPerReplica?: number | undefined;
  /**
   * How long demand must stay above the target before it rises.
   * @default 300_000
   */
  readonly upscaleDelayMs?: number | undefined;
  /**
   * How long demand must stay below the target before it falls.
   * @default 1_200_000
   */
  readonly downscaleDelayMs?: number | undefined;
  /**
   * Sliding window over which the request rate is measured.
   * @default 60_000
   */
  readonly windowMs?: number | undefined;
}

const BUCKETS = 60;

function checkNumber(
  argument: string,
  value: unknown,
  check: (value: number) => boolean,
  expectation: string,
): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be ${expectation}, got ${describeValue(value)}`,
      { argument, value },
    );
  }
}

/**
 * Turns a request rate into a replica target. Implements the router's
 * `RequestRecorder` (`record(at)`), O(1) per request.
 *
 * Hysteresis: time spent wanting more (or fewer) replicas accumulates; time spent wanting
 * the opposite drains that account at the same rate instead of resetting it, so one
 * opposite reading delays a long trend only by its own length. Scale-from-zero is
 * immediate: the first request while the target is 0 sets it to at least 1.
 *
 * @example
 * ```ts
 * const autoscaler = new Autoscaler({ minReplicas: 1, maxReplicas: 8, targetQpsPerReplica: 5 });
 * autoscaler.record(clock.now()); // from the router, per request
 * const target = autoscaler.evaluate(clock.now()); // from the reconciler, per tick
 * ```
 */
export class Autoscaler {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly targetQpsPerReplica: number | undefined;
  readonly upscaleDelayMs: number;
  readonly downscaleDelayMs: number;
  readonly windowMs: number;
  readonly #bucketMs: number;
  readonly #counts = new Float64Array(BUCKETS);
  readonly #bucketIds = new Float64Array(BUCKETS).fill(-1);
  #target: number;
  #upMs = 0;
  #downMs = 0;
  #lastEvaluation: number | undefined;

  constructor(options: AutoscalerOptions) {
    const min = options.minReplicas;
    checkNumber('minReplicas', min, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    const max = options.maxReplicas ?? min;
    checkNumber(
      'maxReplicas',
      max,
      (v) => Number.isInteger(v) && v >= min,
      `an integer >= \`minReplicas\` (${min})`,
    );
    if (options.targetQpsPerReplica !== undefined) {
      checkNumber('targetQpsPerReplica', options.targetQpsPerReplica, (v) => v > 0, 'a number > 0');
    }
    const upscaleDelayMs = options.upscaleDelayMs ?? 300_000;
    checkNumber('upscaleDelayMs', upscaleDelayMs, (v) => v >= 0, 'a number >= 0');
    const downscaleDelayMs = options.downscaleDelayMs ?? 1_200_000;
    checkNumber('downscaleDelayMs', downscaleDelayMs, (v) => v >= 0, 'a number >= 0');
    const windowMs = options.windowMs ?? 60_000;
    checkNumber('windowMs', windowMs, (v) => v >= BUCKETS, `a number >= ${BUCKETS}`);
    this.minReplicas = min;
    this.maxReplicas = max;
    this.targetQpsPerReplica = options.targetQpsPerReplica;
    this.upscaleDelayMs = upscaleDelayMs;
    this.downscaleDelayMs = downscaleDelayMs;
    this.windowMs = windowMs;
    this.#bucketMs = windowMs / BUCKETS;
    this.#target = min;
  }

  /** Records one request at epoch ms `at` (the router calls this). */
  record(at: number): void {
    const id = Math.floor(at / this.#bucketMs);
    const slot = id % BUCKETS;
    if (this.#bucketIds[slot] !== id) {
      this.#bucketIds[slot] = id;
      this.#counts[slot] = 0;
    }
    this.#counts[slot]! += 1;
  }

  /** Requests per second over the window ending at `now`. */
  qps(now: number): number {
    const newest = Math.floor(now / this.#bucketMs);
    let total = 0;
    for (let slot = 0; slot < BUCKETS; slot++) {
      const id = this.#bucketIds[slot]!;
      if (id > newest - BUCKETS && id <= newest) total += this.#counts[slot]!;
    }
    return total / (this.windowMs / 1000);
  }

  /** The replica count the current rate asks for, clamped to the bounds (no delays). */
  desired(now: number): number {
    if (this.targetQpsPerReplica === undefined) return this.minReplicas;
    const wanted = Math.ceil(this.qps(now) / this.targetQpsPerReplica - 1e-9);
    return Math.min(this.maxReplicas, Math.max(this.minReplicas, wanted));
  }

  /** The current target, as of the last {@link Autoscaler.evaluate}. */
  get target(): number {
    return this.#target;
  }

  /** Updates and returns the target at `now`. Call once per reconcile tick. */
  evaluate(now: number): number {
    const elapsed =
      this.#lastEvaluation === undefined ? 0 : Math.max(0, now - this.#lastEvaluation);
    this.#lastEvaluation = now;
    const desired = this.desired(now);
    if (this.#target === 0 && desired > 0) {
      // Requests arrived while scaled to zero: never make them wait for the delay.
      this.#target = desired;
      this.#upMs = 0;
      this.#downMs = 0;
      return this.#target;
    }
    if (desired > this.#target) {
      this.#upMs += elapsed;
      this.#downMs = Math.max(0, this.#downMs - elapsed);
      if (this.#upMs >= this.upscaleDelayMs) {
        this.#target = desired;
        this.#upMs = 0;
        this.#downMs = 0;
      }
    } else if (desired < this.#target) {
      this.#downMs += elapsed;
      this.#upMs = Math.max(0, this.#upMs - elapsed);
      if (this.#downMs >= this.downscaleDelayMs) {
        this.#target = desired;
        this.#upMs = 0;
        this.#downMs = 0;
      }
    } else {
      this.#upMs = Math.max(0, this.#upMs - elapsed);
      this.#downMs = Math.max(0, this.#downMs - elapsed);
    }
    return this.#target;
  }
}
