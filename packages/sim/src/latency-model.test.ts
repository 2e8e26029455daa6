import { RoundRobinBalancer } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { simulateLatency } from './latency-model.js';
import { percentile } from './metrics.js';
import type { Timeline } from './timeline.js';
import { poissonWorkload } from './workload.js';

const threeReady: Timeline = {
  ticks: 2880,
  tickSeconds: 30,
  coldStartTicks: 4,
  target: 3,
  locations: ['z'],
  replicas: [0, 1, 2].map((index) => ({
    id: `od-${index}`,
    location: 'z',
    capacityType: 'on-demand' as const,
    launchTick: 0,
    readyTick: 4,
    endTick: 2880,
    endReason: 'running' as const,
  })),
};

describe('simulateLatency', () => {
  it("reproduces the paper's on-demand latency (14.9 / 44.8 / 85.5 s) within a few seconds", () => {
    const workload = poissonWorkload({ rate: 0.05, clients: 3, artifactSeeding: true });
    const all: number[] = [];
    for (let repeat = 0; repeat < 3; repeat++) {
      const { times, clients } = workload.arrivalsByClient!({
        durationSeconds: 86_400,
        seed: repeat,
      });
      const { latencies } = simulateLatency(threeReady, times, {
        balancer: () => new RoundRobinBalancer(),
        clients,
        seed: repeat,
      });
      all.push(...latencies);
    }
    const sorted = Float64Array.from(all).sort();
    expect(Math.abs(percentile(sorted, 0.5)! - 14.9)).toBeLessThan(3);
    expect(Math.abs(percentile(sorted, 0.9)! - 44.8)).toBeLessThan(5);
    expect(Math.abs(percentile(sorted, 0.99)! - 85.5)).toBeLessThan(8);
  });

  it('fails requests with no ready replica and those queued on a replica that goes away', () => {
    const timeline: Timeline = {
      ...threeReady,
      ticks: 20,
      replicas: [{ ...threeReady.replicas[0]!, readyTick: 4, endTick: 10 }],
    };
    const arrivals = Float64Array.from([30, 150, 151, 152, 400]);
    const result = simulateLatency(timeline, arrivals, {
      balancer: new RoundRobinBalancer(),
      meanServiceSeconds: 1_000,
    });
    expect(result.latencies[0]).toBe(100); // tick 1: nothing ready
    expect(result.latencies[4]).toBe(100); // tick 13: replica gone
    expect(result.failed).toBeGreaterThanOrEqual(3);
  });
});
