import { describe, expect, it } from 'vitest';
import { MersenneTwister } from './mersenne-twister.js';
import { PythonRandom } from './python-random.js';

describe('MersenneTwister.fromKey', () => {
  it('matches the reference init_by_array output', () => {
    // mt19937ar.c's own test: init_by_array({0x123, 0x234, 0x345, 0x456}) first prints 1067595299.
    const twister = MersenneTwister.fromKey([0x123, 0x234, 0x345, 0x456]);
    expect([twister.nextUint32(), twister.nextUint32()]).toEqual([1067595299, 955945823]);
  });
});

// Expected values printed by CPython 3.11.7 (`random.Random(seed)`).
describe('PythonRandom', () => {
  it('draws what random.seed(int) draws', () => {
    const random = new PythonRandom(0);
    expect([random.getrandbits(32), random.getrandbits(32), random.getrandbits(32)]).toEqual([
      3626764237, 1654615998, 3255389356,
    ]);
    expect(new PythonRandom(0).random()).toBe(0.8444218515250481);
    expect(new PythonRandom(42).random()).toBe(0.6394267984578837);
    // Seeds of more than 32 bits use two key words; negative seeds their absolute value.
    expect(new PythonRandom(2 ** 32 + 5).random()).toBe(0.15727238718789782);
    expect(new PythonRandom(-7).random()).toBe(new PythonRandom(7).random());
  });

  it('takes the top bits for getrandbits and rejection-samples randbelow', () => {
    const bits = new PythonRandom(0);
    expect(Array.from({ length: 5 }, () => bits.getrandbits(3))).toEqual([6, 3, 6, 7, 3]);
    const below = new PythonRandom(0);
    expect([2, 3, 5, 9, 1000].map((n) => below.randbelow(n))).toEqual([1, 1, 0, 4, 988]);
  });

  it('shuffles as random.shuffle', () => {
    // By hand for three items: i = 2 draws getrandbits(2) = 3626764237 >>> 30 = 3 (rejected),
    // then 1654615998 >>> 30 = 1, so items 2 and 1 swap; i = 1 draws getrandbits(2) from
    // 3255389356 and 3823568514 (both 3, rejected), then 1806341205 >>> 30 = 1: no swap.
    expect(new PythonRandom(0).shuffle([0, 1, 2])).toEqual([0, 2, 1]);
    expect(new PythonRandom(0).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual([
      7, 8, 1, 5, 3, 4, 2, 0, 9, 6,
    ]);
    expect(new PythonRandom(0).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8])).toEqual([
      7, 5, 1, 3, 4, 2, 0, 8, 6,
    ]);
    const items = ['a'];
    expect(new PythonRandom(3).shuffle(items)).toBe(items);
  });

  it('rejects arguments outside its domain', () => {
    expect(() => new PythonRandom(0.5)).toThrow(/seed/);
    expect(() => new PythonRandom(0).getrandbits(33)).toThrow(/bits/);
    expect(() => new PythonRandom(0).randbelow(0)).toThrow(/`n`/);
  });
});
