import { OnDemandOnlyPolicy, SpotHedgePolicy } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { runMetrics } from './metrics.js';
import { hasSharedTraces, sharedTracePath } from './shared-data.js';
import { simulateRun } from './simulate.js';
import { tickCounts } from './timeline.js';
import { loadTrace } from './trace.js';
import type { SpotTrace } from './trace.js';
import { runExperiment } from './experiment.js';

function trace(capacities: number[][]): SpotTrace {
  return {
    name: 'scripted',
    values: 'count',
    tickSeconds: 30,
    ticks: capacities[0]!.length,
    zones: capacities.map((capacity, index) => ({
      location: `aws/us-east-1/us-east-1${String.fromCharCode(97 + index)}`,
      source: 'test',
      capacity: Int32Array.from(capacity),
    })),
  };
}

describe('simulateRun (real ReplicaManager, virtual clock)', () => {
  it('on-demand only: always available after the cold start, cost exactly 1', async () => {
    const timeline = await simulateRun({
      trace: trace([Array(40).fill(0)]),
      policy: new OnDemandOnlyPolicy(),
    });
    const metrics = runMetrics(timeline);
    expect(metrics.availability).toBe(1);
    expect(metrics.cost).toBeCloseTo(1);
    expect(
      timeline.replicas.filter((replica) => replica.capacityType === 'on-demand'),
    ).toHaveLength(3);
  });

  it('SpotHedge: preemption → on-demand fallback → released once spot is ready again', async () => {
    // Zone a loses its capacity at tick 20 and gets it back at tick 30.
    const zoneA = Array.from({ length: 60 }, (_, tick) => (tick >= 20 && tick < 30 ? 0 : 2));
    const zoneB = Array(60).fill(2);
    const zoneC = Array(60).fill(2);
    const timeline = await simulateRun({
      trace: trace([zoneA, zoneB, zoneC]),
      policy: SpotHedgePolicy.paper({ seed: 1 }),
    });
    const counts = tickCounts(timeline);
    const preempted = timeline.replicas.filter((replica) => replica.endReason === 'preempted');
    expect(preempted.length).toBeGreaterThan(0);
    expect(preempted.every((replica) => replica.endTick === 20)).toBe(true);
    // Fallback on-demand launched at the preemption, gone by the end.
    expect(Math.max(...counts.heldOnDemand.slice(20, 30))).toBeGreaterThan(0);
    expect(counts.heldOnDemand[59]).toBe(0);
    expect(counts.readySpot[59]).toBe(4);
    // A replica is ready exactly a cold start (4 ticks) after its launch.
    for (const replica of timeline.replicas) {
      if (replica.readyTick !== undefined) expect(replica.readyTick).toBe(replica.launchTick + 4);
    }
  });
});

describe.skipIf(!hasSharedTraces)(
  'fidelity against the paper artifact (skipped: ../shared/traces not found beside the repo)',
  () => {
    it('spothedge-paper on gcp1 matches the reference within ±1.5 points and ±0.03', async () => {
      const [row] = await runExperiment({
        trace: loadTrace({ path: sharedTracePath('gcp1') }),
        policies: ['spothedge-paper'],
        repeats: 4,
      });
      // Reference (10 repeats): availability 0.9983, cost 0.462.
      expect(Math.abs(row!.availability - 0.9983)).toBeLessThanOrEqual(0.015);
      expect(Math.abs(row!.cost - 0.462)).toBeLessThanOrEqual(0.03);
    });

    // Even Spread fills zones in list order, so it needs the artifact's zone orders
    // (`zoneShuffle: 'artifact'`); with them every repeat equals the artifact's.
    for (const [name, availability, cost] of [
      ['aws1', 0.3035, 0.194],
      ['aws3', 0.2904, 0.21],
      ['gcp1', 0.4819, 0.267],
    ] as const) {
      it(`even-spread on ${name} reproduces the reference (${availability} / ${cost})`, async () => {
        const [row] = await runExperiment({
          trace: loadTrace({ path: sharedTracePath(name) }),
          policies: ['even-spread'],
          zoneShuffle: 'artifact',
        });
        expect(row!.repeats).toBe(10);
        expect(Math.abs(row!.availability - availability)).toBeLessThanOrEqual(0.015);
        expect(Math.abs(row!.cost - cost)).toBeLessThanOrEqual(0.03);
        // Not only within the tolerance: equal to the reference's rounding.
        expect(row!.availability).toBeCloseTo(availability, 4);
        expect(row!.cost).toBeCloseTo(cost, 3);
      }, 60_000);
    }
  },
);
