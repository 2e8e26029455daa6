/**
 * Start offsets of the evaluation windows. The paper's artifact draws them with NumPy's
 * legacy `np.random.seed(seed); np.random.randint(0, traceTicks - windowTicks)` once per
 * repeat; drawing the very same offsets lets our runs cover the same trace windows as the
 * reference numbers (NumPy's exact MT19937 seeding and masked rejection sampling: see
 * {@link MersenneTwister}).
 */
import { InvalidArgumentError, describeValue } from '@spothedge/core';
import { MersenneTwister } from './mersenne-twister.js';

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
