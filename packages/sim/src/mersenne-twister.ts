/**
 * MT19937, the generator behind both NumPy's legacy `np.random` and CPython's `random`,
 * with each one's seeding: NumPy seeds an integer with `init_genrand`, CPython seeds
 * with `init_by_array` over the integer's 32-bit words. Written by hand because the paper's
 * artifact draws its window offsets (NumPy) and its zone orders (CPython) from it, and no
 * npm generator reproduces either bit for bit.
 */

const SIZE = 624;

/** MT19937 (`genrand_int32`), seeded as NumPy's legacy `np.random.seed(int)` by default. */
export class MersenneTwister {
  readonly #state = new Uint32Array(SIZE);
  #index = SIZE;

  /** Seeds with `init_genrand(seed)` (NumPy's legacy integer seeding). */
  constructor(seed: number) {
    const state = this.#state;
    state[0] = seed >>> 0;
    for (let index = 1; index < SIZE; index++) {
      const previous = state[index - 1]! ^ (state[index - 1]! >>> 30);
      // 1812433253 * previous + index, in 32-bit arithmetic.
      state[index] = (Math.imul(1812433253, previous) + index) >>> 0;
    }
  }

  /**
   * Seeds with the reference `init_by_array(key)` (what CPython's `random.seed(int)` does
   * with the integer's 32-bit words, least significant first).
   *
   * @example
   * ```ts
   * MersenneTwister.fromKey([0x123, 0x234, 0x345, 0x456]).nextUint32(); // 1067595299
   * ```
   */
  static fromKey(key: readonly number[]): MersenneTwister {
    const twister = new MersenneTwister(19650218);
    const state = twister.#state;
    const length = Math.max(1, key.length);
    const word = (index: number) => (key[index] ?? 0) >>> 0;
    let index = 1;
    let keyIndex = 0;
    for (let count = Math.max(SIZE, length); count > 0; count--) {
      const previous = state[index - 1]! ^ (state[index - 1]! >>> 30);
      state[index] =
        ((state[index]! ^ Math.imul(previous, 1664525)) >>> 0) + word(keyIndex) + keyIndex;
      index++;
      keyIndex++;
      if (index >= SIZE) {
        state[0] = state[SIZE - 1]!;
        index = 1;
      }
      if (keyIndex >= length) keyIndex = 0;
    }
    for (let count = SIZE - 1; count > 0; count--) {
      const previous = state[index - 1]! ^ (state[index - 1]! >>> 30);
      state[index] = ((state[index]! ^ Math.imul(previous, 1566083941)) >>> 0) - index;
      index++;
      if (index >= SIZE) {
        state[0] = state[SIZE - 1]!;
        index = 1;
      }
    }
    // Most significant bit set: assures a non-zero initial state.
    state[0] = 0x80000000;
    return twister;
  }

  /** The next 32-bit unsigned integer (`genrand_int32`). */
  nextUint32(): number {
    const state = this.#state;
    if (this.#index >= SIZE) {
      for (let index = 0; index < SIZE; index++) {
        const y = (state[index]! & 0x80000000) | (state[(index + 1) % SIZE]! & 0x7fffffff);
        state[index] = state[(index + 397) % SIZE]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
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
