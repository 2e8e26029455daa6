import { describe, expect, it } from 'vitest';
import { MersenneTwister } from './mersenne-twister.js';
import { windowOffsets } from './window-offsets.js';

describe('windowOffsets', () => {
  it("draws NumPy's legacy randint offsets (np.random.seed(0))", () => {
    // Values printed by NumPy 2.4: [np.random.randint(0, L - 2880) for _ in range(10)].
    expect(windowOffsets({ traceTicks: 31_560, windowTicks: 2_880, repeats: 10 })).toEqual([
      2732, 10799, 9845, 19648, 13123, 21243, 9225, 24275, 20757, 22258,
    ]);
    expect(windowOffsets({ traceTicks: 3_850, windowTicks: 2_880, repeats: 10 })).toEqual([
      684, 559, 629, 192, 835, 763, 707, 359, 9, 723,
    ]);
  });

  it('matches the MT19937 reference output', () => {
    // First outputs of init_genrand(5489), the reference implementation's default seed.
    const twister = new MersenneTwister(5489);
    expect([twister.nextUint32(), twister.nextUint32()]).toEqual([3499211612, 581869302]);
  });

  it('rejects a window longer than the trace', () => {
    expect(() => windowOffsets({ traceTicks: 10, windowTicks: 20, repeats: 1 })).toThrow(/fit/);
    expect(windowOffsets({ traceTicks: 20, windowTicks: 20, repeats: 2 })).toEqual([0, 0]);
  });
});
