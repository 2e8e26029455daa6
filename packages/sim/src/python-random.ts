/**
 * CPython's `random` module, bit for bit, for the parts the paper's artifact uses:
 * `random.seed(int)`, `getrandbits`, `_randbelow` and `shuffle`. The artifact shuffles its
 * zone list with it before every repeat, and its Even Spread baseline fills zones in that
 * order, so reproducing its numbers needs the very same permutations.
 */
import { InvalidArgumentError, describeValue } from '@spothedge/core';
import { MersenneTwister } from './mersenne-twister.js';

/**
 * A generator that draws exactly what `random.Random(seed)` draws in CPython 3 (the
 * Mersenne Twister seeded with `init_by_array` over the seed's 32-bit words).
 *
 * @example
 * ```ts
 * new PythonRandom(0).random(); // 0.8444218515250481, as random.seed(0); random.random()
 * new PythonRandom(0).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]
 * ```
 */
export class PythonRandom {
  readonly #twister: MersenneTwister;

  /** Seeds as `random.seed(seed)` does for an integer (its absolute value is used). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new InvalidArgumentError(
        `Expected \`seed\` to be a safe integer, got ${describeValue(seed)}`,
        { argument: 'seed', value: seed },
      );
    }
    const magnitude = Math.abs(seed);
    const low = magnitude % 2 ** 32;
    const high = Math.floor(magnitude / 2 ** 32);
    this.#twister = MersenneTwister.fromKey(high > 0 ? [low, high] : [low]);
  }

  /** `random.getrandbits(bits)` for 0 ≤ bits ≤ 32: the top `bits` bits of the next word. */
  getrandbits(bits: number): number {
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) {
      throw new InvalidArgumentError(
        `Expected \`bits\` to be an integer from 0 to 32, got ${describeValue(bits)}`,
        { argument: 'bits', value: bits },
      );
    }
    if (bits === 0) return 0;
    return this.#twister.nextUint32() >>> (32 - bits);
  }

  /**
   * `random._randbelow(n)`: an integer in `[0, n)` by rejection sampling on
   * `getrandbits(n.bit_length())`, for 1 ≤ n < 2^32.
   */
  randbelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n >= 2 ** 32) {
      throw new InvalidArgumentError(
        `Expected \`n\` to be an integer from 1 to 2^32 - 1, got ${describeValue(n)}`,
        { argument: 'n', value: n },
      );
    }
    const bits = 32 - Math.clz32(n);
    for (;;) {
      const value = this.getrandbits(bits);
      if (value < n) return value;
    }
  }

  /** `random.random()`: a float in `[0, 1)` from 53 random bits. */
  random(): number {
    const high = this.#twister.nextUint32() >>> 5;
    const low = this.#twister.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /**
   * `random.shuffle(items)`: Fisher–Yates from the end, in place; returns `items`.
   */
  shuffle<T>(items: T[]): T[] {
    for (let index = items.length - 1; index > 0; index--) {
      const other = this.randbelow(index + 1);
      [items[index], items[other]] = [items[other]!, items[index]!];
    }
    return items;
  }
}
