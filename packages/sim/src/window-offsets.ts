/**
 * Start offsets of the evaluation windows. The paper's artifact draws them with NumPy's
 * legacy `np.random.seed(seed); np.random.randint(0, traceTicks - windowTicks)` once per
 * repeat; drawing the very same offsets lets our runs cover the same trace windows as the
 * reference numbers. Written by hand: it needs NumPy's exact MT19937 seeding and its masked
 * rejection sampling, which no npm generator reproduces.
 */
import { InvalidArgumentError, describeValue } from '@spothedge/core';

/** MT19937 with NumPy's legacy integer seeding (`init_genrand`). */
export class MersenneTwister {
  readonly #state = new Uint32Array(624);
  #index = 624;

  constructor(seed: number) {
    const state = this.#state;
    state[0] = seed >>> 0;
    for (let index = 1; index < 624; index++) {
      const previous = state[index - 1]! ^ (state[index - 1]! >>> 30);
      // 1812433253 * previous + index, in 32-bit arithmetic.
      state[index] = (Math.imul(1812433253, previous) + index) >>> 0;
    }
  }

  /** The next 32-bit unsigned integer (`genrand_int32`). */
  nextUint32(): number {
    const state = this.#state;
    if (this.#index >= 624) {
      for (let index = 0; index < 624; index++) {
        const y = (state[index]! & 0x80000000) | (state[(index + 1) % 624]! & 0x7fffffff);
        state[index] = state[(index + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.#index = 0;
    }
    let y = state[this.#index++]!;
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** An integer in `[0, high)` exactly as NumPy's legacy `randint(0, high)` (high ≤ 2^32). */
  randint(high: number): number {
    const range = high - 1;
    if (range <= 0) return 0;
    let mask = range;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const value = (this.nextUint32() & mask) >>> 0;
      if (value <= range) return value;
    }
  }
}

export interface WindowOffsetsOptions {
  /** Length of the trace in ticks. */
  readonly traceTicks: number;
  /** Length of one window in ticks. */
  readonly windowTicks: number;
  readonly repeats: number;
  /** @default 0 */
  readonly seed?: number | undefined;
}

/**
 * The start tick of each repeat's window, as the paper's artifact draws them.
 *
 * @example
 * ```ts
 * windowOffsets({ traceTicks: 31_560, windowTicks: 2_880, repeats: 2 }); // [2732, 10799]
 * ```
 */
export function windowOffsets(options: WindowOffsetsOptions): number[] {
  const room = options.traceTicks - options.windowTicks;
  if (!Number.isInteger(options.windowTicks) || options.windowTicks <= 0 || room < 0) {
    throw new InvalidArgumentError(
      `Expected the window (${options.windowTicks} ticks) to fit in the trace (${options.traceTicks} ticks), got ${describeValue(options.windowTicks)}`,
      { argument: 'hours', value: options.windowTicks },
    );
  }
  const random = new MersenneTwister(options.seed ?? 0);
  const offsets: number[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    offsets.push(room === 0 ? 0 : random.randint(room));
  }
  return offsets;
}
