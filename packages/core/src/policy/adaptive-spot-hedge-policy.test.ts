import { describe, expect, it } from 'vitest';
import { AdaptiveSpotHedgePolicy } from './adaptive-spot-hedge-policy.js';
import type { FleetView, LocationView, ReplicaView } from './types.js';

const locations: LocationView[] = ['a', 'b', 'c'].map((zone) => ({
  id: `aws/us-east-1/us-east-1${zone}`,
  cloud: 'aws',
  region: 'us-east-1',
  zone: `us-east-1${zone}`,
  spotPrice: 1,
  onDemandPrice: 3,
}));

function replica(
  id: string,
  location: string,
  capacityType: 'spot' | 'on-demand',
  status: ReplicaView['status'] = 'ready',
): ReplicaView {
  return { id, location, capacityType, status, launchedAt: 0 };
}

function view(replicas: ReplicaView[], now = 1_000): FleetView {
  return { now, target: 3, maxReplicas: 8, locations, replicas };
}

describe('AdaptiveSpotHedgePolicy', () => {
  it('starts with target + extra spot spread over distinct locations and on-demand cover', () => {
    const plan = new AdaptiveSpotHedgePolicy().plan(view([]));
    const spot = plan.actions.filter(
      (action) => action.type === 'launch' && action.capacityType === 'spot',
    );
    const onDemand = plan.actions.filter(
      (action) => action.type === 'launch' && action.capacityType === 'on-demand',
    );
    expect(spot).toHaveLength(4);
    expect(new Set(spot.map((action) => action.type === 'launch' && action.location)).size).toBe(3);
    expect(onDemand).toHaveLength(3);
  });

  it('avoids a location that just failed for capacity and prefers calm ones', () => {
    const policy = new AdaptiveSpotHedgePolicy({ overprovision: 0 });
    policy.observe({
      type: 'launch-failure',
      at: 900,
      location: locations[0]!.id,
      capacityType: 'spot',
      reason: 'capacity',
    });
    policy.observe({ type: 'preemption', at: 900, replicaId: 'x', location: locations[1]!.id });
    const plan = policy.plan(view([replica('r1', locations[2]!.id, 'spot')]));
    const spot = plan.actions.filter(
      (action) => action.type === 'launch' && action.capacityType === 'spot',
    );
    expect(spot.map((action) => action.type === 'launch' && action.location)).toEqual([
      locations[1]!.id,
      locations[2]!.id,
    ]);
    expect(policy.risk(locations[1]!.id, 900 + 3_600_000)).toBeCloseTo(0.5);
  });

  it('releases on-demand only once enough spot is ready; zone hedge keeps one when asked', () => {
    const spot = [
      replica('s1', locations[0]!.id, 'spot'),
      replica('s2', locations[0]!.id, 'spot'),
      replica('s3', locations[1]!.id, 'spot'),
      replica('s4', locations[1]!.id, 'spot'),
    ];
    const onDemand = replica('o1', locations[2]!.id, 'on-demand');
    const plain = new AdaptiveSpotHedgePolicy().plan(view([...spot, onDemand]));
    expect(plain.actions).toEqual([
      expect.objectContaining({ type: 'terminate', replicaId: 'o1' }),
    ]);
    const hedged = new AdaptiveSpotHedgePolicy({ zoneHedge: 1 }).plan(view([...spot, onDemand]));
    expect(hedged.actions).toEqual([]);
  });

  it('round-trips its state and names bad options', () => {
    const policy = new AdaptiveSpotHedgePolicy({ seed: 3 });
    policy.observe({ type: 'preemption', at: 10, replicaId: 'x', location: locations[0]!.id });
    const copy = new AdaptiveSpotHedgePolicy();
    copy.restore(policy.snapshot());
    expect(copy.risk(locations[0]!.id, 10)).toBe(1);
    expect(() => copy.restore({ kind: 'other', version: 1 })).toThrow(/snapshot/);
    expect(() => new AdaptiveSpotHedgePolicy({ overprovision: -1 })).toThrow(
      /options\.overprovision/,
    );
  });
});
