import { describe, expect, it } from 'vitest';
import {
  burstyWorkload,
  parsePerMinuteCounts,
  parseWorkload,
  perMinuteWorkload,
  poissonWorkload,
} from './workload.js';

describe('workloads', () => {
  it('draws Poisson arrivals at the given total rate, sorted and seeded', () => {
    const workload = poissonWorkload({ rate: 0.05, clients: 3 });
    const arrivals = workload.arrivals({ durationSeconds: 86_400, seed: 1 });
    expect(arrivals.length).toBeGreaterThan(0.15 * 86_400 * 0.95);
    expect(arrivals.length).toBeLessThan(0.15 * 86_400 * 1.05);
    expect(arrivals.every((at, index) => index === 0 || at >= arrivals[index - 1]!)).toBe(true);
    expect(Array.from(workload.arrivals({ durationSeconds: 600, seed: 1 }))).toEqual(
      Array.from(workload.arrivals({ durationSeconds: 600, seed: 1 })),
    );
  });

  it('spreads per-minute counts over their minute, from the window start', () => {
    const counts = parsePerMinuteCounts('Time (min),Requests\n0,2\n1,0\n2,5\n', 'test.csv');
    expect(Array.from(counts)).toEqual([2, 0, 5]);
    const arrivals = perMinuteWorkload({ counts }).arrivals({
      durationSeconds: 120,
      startSeconds: 60,
      seed: 0,
    });
    expect(arrivals.length).toBe(5);
    for (const at of arrivals) expect(at).toBeGreaterThanOrEqual(60);
    expect(() => parsePerMinuteCounts('Time,Requests\n0,2\n1,x\n', 'bad.csv')).toThrow(
      /line 3 of bad\.csv/,
    );
  });

  it('has bursts well above the calm rate', () => {
    const arrivals = burstyWorkload({ rate: 0.1, burstFactor: 20 }).arrivals({
      durationSeconds: 86_400,
      seed: 2,
    });
    const perMinute = new Map<number, number>();
    for (const at of arrivals)
      perMinute.set(Math.floor(at / 60), (perMinute.get(Math.floor(at / 60)) ?? 0) + 1);
    expect(Math.max(...perMinute.values())).toBeGreaterThan(30);
  });

  it('parses CLI specs', () => {
    expect(parseWorkload('none')).toBeUndefined();
    expect(parseWorkload('poisson:0.15')?.name).toBe('poisson:0.15');
    expect(parseWorkload('poisson:3x0.05')?.name).toBe('poisson:3x0.05');
    expect(() => parseWorkload('gauss:1')).toThrow(/`--workload`/);
  });
});
