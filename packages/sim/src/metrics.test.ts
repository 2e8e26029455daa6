import { describe, expect, it } from 'vitest';
import { percentile, runMetrics } from './metrics.js';
import type { ReplicaRecord, Timeline } from './timeline.js';

function record(
  partial: Partial<ReplicaRecord> & Pick<ReplicaRecord, 'launchTick' | 'endTick'>,
): ReplicaRecord {
  return {
    id: `r${Math.random()}`,
    location: 'z',
    capacityType: 'spot',
    readyTick: partial.launchTick + 4,
    endReason: 'running',
    ...partial,
  };
}

describe('runMetrics', () => {
  it('counts availability and cost from the first cold start on', () => {
    const timeline: Timeline = {
      ticks: 14,
      tickSeconds: 30,
      coldStartTicks: 4,
      target: 2,
      locations: ['z'],
      replicas: [
        record({ launchTick: 0, endTick: 14 }),
        record({ launchTick: 0, endTick: 9 }), // preempted at 9
        record({ launchTick: 9, endTick: 14, capacityType: 'on-demand' }), // ready at 13
      ],
    };
    const metrics = runMetrics(timeline);
    // Ticks 4..13 (10 ticks): ≥ 2 ready at 4..8 and 13 → 6.
    expect(metrics.availability).toBeCloseTo(6 / 10);
    // Spot held: 10 + 5, on-demand 5 → 15 + 3·5 = 30, over 2·3·10.
    expect(metrics.cost).toBeCloseTo(30 / 60);
  });

  it('interpolates percentiles like NumPy', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0.99)).toBeCloseTo(3.97);
    expect(percentile([], 0.5)).toBeNull();
  });
});
