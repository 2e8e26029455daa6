import { describe, expect, it } from 'vitest';
import { runMetrics } from './metrics.js';
import { solveOptimum } from './optimum.js';
import { generateSyntheticTrace } from './synthetic-trace.js';
import type { SpotTrace } from './trace.js';

function tinyTrace(capacities: number[][]): SpotTrace {
  return {
    name: 'tiny',
    values: 'count',
    tickSeconds: 30,
    ticks: capacities[0]!.length,
    zones: capacities.map((capacity, index) => ({
      location: `t/r/z${index}`,
      source: 'test',
      capacity: Int32Array.from(capacity),
    })),
  };
}

describe('solveOptimum', () => {
  it('uses spot when it can and bridges a drop with a replacement started a cold start early', async () => {
    // Zone 0 holds 3 until tick 12; zone 1 holds 3 from tick 6.
    const trace = tinyTrace([
      [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
    ]);
    const result = await solveOptimum({ trace, target: 3, coldStartTicks: 4 });
    expect(result.optimal).toBe(true);
    expect(Array.from(result.heldOnDemand).every((count) => count === 0)).toBe(true);
    // Zone 1 must be launched by tick 8 to be ready at 12; launching at 8 is cheapest.
    expect(Array.from(result.heldSpot[1]!.slice(8, 20))).toEqual(Array(12).fill(3));
    expect(result.heldSpot[1]![7]).toBe(0);
    expect(runMetrics(result.timeline).availability).toBe(1);
  });

  it('falls back to on-demand when spot is gone', async () => {
    const trace = tinyTrace([Array(20).fill(0)]);
    const result = await solveOptimum({ trace, target: 2, coldStartTicks: 4 });
    const metrics = runMetrics(result.timeline);
    expect(metrics.availability).toBe(1);
    expect(metrics.cost).toBeCloseTo(1);
  });

  it('segmented and tick-by-tick programs agree', async () => {
    const trace = generateSyntheticTrace({ seed: 5, hours: 1.5, tickSeconds: 30, dipsPerDay: 24 });
    // Coarsen the synthetic trace to 5-minute points like the real ones.
    const coarse: SpotTrace = {
      ...trace,
      zones: trace.zones.map((zone) => ({
        ...zone,
        capacity: zone.capacity.map((_, tick) => zone.capacity[tick - (tick % 10)]!),
      })),
    };
    const segmented = await solveOptimum({ trace: coarse, relativeGap: 0 });
    const full = await solveOptimum({ trace: coarse, segmented: false, relativeGap: 0 });
    expect(segmented.objective).toBeCloseTo(full.objective, 6);
  });
});
