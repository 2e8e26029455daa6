import { describe, expect, it } from 'vitest';
import { SeededRandom } from './random.js';

describe('SeededRandom', () => {
  it('is deterministic under a seed and resumable from its state', () => {
    const first = new SeededRandom(42);
    const draws = Array.from({ length: 5 }, () => first.next());
    const second = new SeededRandom(42);
    expect(Array.from({ length: 5 }, () => second.next())).toEqual(draws);
    const resumed = new SeededRandom();
    resumed.state = second.state;
    expect(resumed.next()).toBe(second.next());
  });

  it('stays in range', () => {
    const random = new SeededRandom(7);
    for (let index = 0; index < 1000; index++) {
      const value = random.nextInt(3);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(3);
    }
  });
});
