/**
 * Unit tests of a custom policy in isolation: plain FleetView objects in, a Plan out.
 * No cloud, no timers, no SDK engine.
 */
import { InvalidArgumentError } from '@spothedge/core';
import type { FleetView, LocationView, Plan, ReplicaView } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { CheapestSpotWithFloorPolicy } from './cheapest-spot-with-floor-policy.js';

const cheap: LocationView = {
  id: 'aws/us-east-1/us-east-1a',
  cloud: 'aws',
  region: 'us-east-1',
  zone: 'us-east-1a',
  spotPrice: 0.3,
  onDemandPrice: 1.2,
};
const pricey: LocationView = {
  id: 'aws/us-west-2/us-west-2b',
  cloud: 'aws',
  region: 'us-west-2',
  zone: 'us-west-2b',
  spotPrice: 0.5,
  onDemandPrice: 1.0,
};

function fleet(overrides: Partial<FleetView> = {}): FleetView {
  return {
    now: 0,
    target: 3,
    maxReplicas: 10,
    locations: [cheap, pricey],
    replicas: [],
    ...overrides,
  };
}

function replica(
  id: string,
  location: LocationView,
  capacityType: 'spot' | 'on-demand',
  status: ReplicaView['status'] = 'ready',
): ReplicaView {
  return { id, location: location.id, capacityType, status, launchedAt: 0 };
}

const launches = (plan: Plan) =>
  plan.actions.flatMap((action) =>
    action.type === 'launch' ? [`${action.capacityType}@${action.location}`] : [],
  );

describe('CheapestSpotWithFloorPolicy', () => {
  it('keeps the on-demand floor and puts the rest on the cheapest spot', () => {
    const plan = new CheapestSpotWithFloorPolicy({ onDemandFloor: 1 }).plan(fleet());
    expect(launches(plan)).toEqual([
      `on-demand@${pricey.id}`, // cheapest on-demand price
      `spot@${cheap.id}`,
      `spot@${cheap.id}`,
    ]);
  });

  it('avoids a preempted location until its cooldown ends', () => {
    const policy = new CheapestSpotWithFloorPolicy({ onDemandFloor: 0, cooldownMs: 60_000 });
    policy.observe({ type: 'preemption', at: 1_000, replicaId: 'r1', location: cheap.id });
    const replicas = [replica('r2', cheap, 'spot')];
    expect(launches(policy.plan(fleet({ now: 30_000, target: 2, replicas })))).toEqual([
      `spot@${pricey.id}`,
    ]);
    expect(launches(policy.plan(fleet({ now: 61_001, target: 2, replicas })))).toEqual([
      `spot@${cheap.id}`,
    ]);
  });

  it('scales down not-ready replicas first and never beyond maxReplicas', () => {
    const policy = new CheapestSpotWithFloorPolicy({ onDemandFloor: 1 });
    const replicas = [
      replica('od', pricey, 'on-demand'),
      replica('ready', cheap, 'spot'),
      replica('booting', cheap, 'spot', 'starting'),
    ];
    const plan = policy.plan(fleet({ target: 2, replicas }));
    expect(plan.actions).toEqual([
      { type: 'terminate', replicaId: 'booting', reason: 'above target' },
    ]);
    expect(launches(policy.plan(fleet({ target: 5, maxReplicas: 2 })))).toHaveLength(2);
  });

  it('survives a restart through snapshot/restore', () => {
    const policy = new CheapestSpotWithFloorPolicy({ onDemandFloor: 0 });
    policy.observe({
      type: 'launch-failure',
      at: 0,
      location: cheap.id,
      capacityType: 'spot',
      reason: 'capacity',
    });
    const restarted = new CheapestSpotWithFloorPolicy({ onDemandFloor: 0 });
    restarted.restore(JSON.parse(JSON.stringify(policy.snapshot())));
    expect(launches(restarted.plan(fleet({ target: 1 })))).toEqual([`spot@${pricey.id}`]);
    expect(() => restarted.restore('garbage')).toThrow(InvalidArgumentError);
  });
});
