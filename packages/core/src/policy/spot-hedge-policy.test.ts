import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { CapacityType } from '../provider.js';
import { SpotHedgePolicy } from './spot-hedge-policy.js';
import type {
  FleetView,
  LaunchAction,
  LocationView,
  Plan,
  ReplicaStatus,
  ReplicaView,
} from './types.js';

function zone(name: string, spotPrice = 1, onDemandPrice = 3): LocationView {
  return {
    id: `aws/us-east-1/${name}`,
    cloud: 'aws',
    region: 'us-east-1',
    zone: name,
    spotPrice,
    onDemandPrice,
  };
}

const A = zone('a');
const B = zone('b');
const C = zone('c');
const D = zone('d');
const E = zone('e');

let nextId = 0;
function replica(
  location: LocationView,
  capacityType: CapacityType,
  status: ReplicaStatus = 'ready',
  launchedAt = 0,
): ReplicaView {
  nextId++;
  return { id: `r${nextId}`, location: location.id, capacityType, status, launchedAt };
}

function view(partial: Partial<FleetView> & { locations: readonly LocationView[] }): FleetView {
  return { now: 0, target: 3, maxReplicas: 100, replicas: [], ...partial };
}

function launches(plan: Plan, capacityType?: CapacityType): LaunchAction[] {
  return plan.actions.filter(
    (action): action is LaunchAction =>
      action.type === 'launch' &&
      (capacityType === undefined || action.capacityType === capacityType),
  );
}

function terminated(plan: Plan): string[] {
  return plan.actions.flatMap((action) => (action.type === 'terminate' ? [action.replicaId] : []));
}

function preempt(policy: SpotHedgePolicy, location: LocationView): void {
  policy.observe({ type: 'preemption', at: 0, replicaId: 'x', location: location.id });
}

describe('SpotHedgePolicy location state', () => {
  it('marks a location preempted on spot preemption', () => {
    const policy = new SpotHedgePolicy();
    expect(policy.locationStatus(A.id)).toBe('active');
    preempt(policy, A);
    expect(policy.locationStatus(A.id)).toBe('preempted');
    expect(policy.preemptedLocations).toEqual([A.id]);
  });

  it('marks a location preempted on a spot capacity launch failure, not on other failures', () => {
    const policy = new SpotHedgePolicy();
    policy.observe({
      type: 'launch-failure',
      at: 0,
      location: A.id,
      capacityType: 'spot',
      reason: 'capacity',
    });
    policy.observe({
      type: 'launch-failure',
      at: 0,
      location: B.id,
      capacityType: 'spot',
      reason: 'other',
    });
    policy.observe({
      type: 'launch-failure',
      at: 0,
      location: C.id,
      capacityType: 'on-demand',
      reason: 'capacity',
    });
    expect(policy.locationStatus(A.id)).toBe('preempted');
    expect(policy.locationStatus(B.id)).toBe('active');
    expect(policy.locationStatus(C.id)).toBe('active');
  });

  it('marks a location active again on a successful spot launch there', () => {
    const policy = new SpotHedgePolicy();
    preempt(policy, A);
    policy.observe({
      type: 'launch-success',
      at: 0,
      replicaId: 'r',
      location: A.id,
      capacityType: 'on-demand',
    });
    expect(policy.locationStatus(A.id)).toBe('preempted');
    policy.observe({
      type: 'launch-success',
      at: 0,
      replicaId: 'r',
      location: A.id,
      capacityType: 'spot',
    });
    expect(policy.locationStatus(A.id)).toBe('active');
  });

  it('never places new spot replicas in a preempted location while others are active', () => {
    const policy = SpotHedgePolicy.paper({ seed: 3 });
    preempt(policy, A);
    preempt(policy, B);
    for (let round = 0; round < 20; round++) {
      const plan = policy.plan(view({ locations: [A, B, C, D, E], target: 3 }));
      for (const action of launches(plan, 'spot'))
        expect([C.id, D.id, E.id]).toContain(action.location);
    }
  });
});

describe('SpotHedgePolicy reset rules', () => {
  it('paper rule: with 5 locations resets once at most 1 is active', () => {
    const policy = SpotHedgePolicy.paper();
    const locations = [A, B, C, D, E];
    for (const location of [A, B, C]) preempt(policy, location);
    policy.plan(view({ locations }));
    expect(policy.preemptedLocations).toHaveLength(3); // 2 active > min(1, 5 - 3) = 1
    preempt(policy, D);
    const plan = policy.plan(view({ locations }));
    expect(policy.preemptedLocations).toEqual([]); // 1 active <= 1 → reset
    expect(launches(plan, 'spot')[0]!.reason).toContain('all reset');
  });

  it('paper rule: with 3 locations resets only when none is active', () => {
    const policy = SpotHedgePolicy.paper();
    const locations = [A, B, C];
    preempt(policy, A);
    preempt(policy, B);
    policy.plan(view({ locations }));
    expect(policy.preemptedLocations).toEqual([A.id, B.id]); // min(1, 0) = 0; 1 active
    preempt(policy, C);
    policy.plan(view({ locations }));
    expect(policy.preemptedLocations).toEqual([]);
  });

  it('paper rule: with 2 locations never resets, but still launches somewhere', () => {
    const policy = SpotHedgePolicy.paper();
    preempt(policy, A);
    preempt(policy, B);
    const plan = policy.plan(view({ locations: [A, B], target: 1 }));
    expect(policy.preemptedLocations).toEqual([A.id, B.id]);
    expect(launches(plan, 'spot').length).toBeGreaterThan(0);
  });

  it('skypilot rule: resets as soon as fewer than 2 are active', () => {
    const policy = SpotHedgePolicy.skypilot();
    const locations = [A, B, C, D, E];
    for (const location of [A, B, C]) preempt(policy, location);
    policy.plan(view({ locations }));
    expect(policy.preemptedLocations).toHaveLength(3); // 2 active
    preempt(policy, D);
    policy.plan(view({ locations }));
    expect(policy.preemptedLocations).toEqual([]); // 1 active < 2
  });

  it('rules differ where the paper keeps a single active location among 3', () => {
    const paper = SpotHedgePolicy.paper();
    const skypilot = SpotHedgePolicy.skypilot();
    for (const policy of [paper, skypilot]) {
      preempt(policy, A);
      preempt(policy, B);
      policy.plan(view({ locations: [A, B, C] }));
    }
    expect(paper.preemptedLocations).toEqual([A.id, B.id]);
    expect(skypilot.preemptedLocations).toEqual([]);
  });
});

describe('SpotHedgePolicy placement', () => {
  it('spreads over locations without a spot replica before doubling up (random)', () => {
    for (let seed = 0; seed < 20; seed++) {
      const policy = SpotHedgePolicy.paper({ seed });
      const plan = policy.plan(view({ locations: [A, B, C, D], target: 3 }));
      const spots = launches(plan, 'spot').map((action) => action.location);
      expect(spots).toHaveLength(4);
      expect(new Set(spots).size).toBe(4);
    }
  });

  it('counts existing spot replicas when spreading', () => {
    const policy = SpotHedgePolicy.paper({ seed: 1 });
    const replicas = [replica(A, 'spot'), replica(B, 'spot')];
    const plan = policy.plan(view({ locations: [A, B, C, D], target: 3, replicas }));
    expect(
      launches(plan, 'spot')
        .map((action) => action.location)
        .sort(),
    ).toEqual([C.id, D.id]);
  });

  it('doubles up only in active locations once every active one holds a replica', () => {
    const policy = SpotHedgePolicy.paper({ seed: 5 });
    preempt(policy, C);
    const replicas = [replica(A, 'spot'), replica(B, 'spot')];
    const plan = policy.plan(view({ locations: [A, B, C, D, E], target: 5, replicas }));
    const spots = launches(plan, 'spot').map((action) => action.location);
    expect(spots).toHaveLength(4);
    expect(spots).not.toContain(C.id);
    for (const location of spots) expect([A.id, B.id, D.id, E.id]).toContain(location);
    expect(new Set(spots.slice(0, 2))).toEqual(new Set([D.id, E.id]));
  });

  it('cheapest placement picks the cheapest empty active location, then the cheapest active', () => {
    const cheap = zone('cheap', 0.5);
    const mid = zone('mid', 0.8);
    const pricey = zone('pricey', 2);
    const policy = SpotHedgePolicy.skypilot({ overprovision: 0 });
    const plan = policy.plan(view({ locations: [pricey, mid, cheap], target: 2 }));
    expect(launches(plan, 'spot').map((action) => action.location)).toEqual([cheap.id, mid.id]);
    const full = policy.plan(
      view({
        locations: [pricey, mid, cheap],
        target: 5,
        replicas: [replica(cheap, 'spot'), replica(mid, 'spot'), replica(pricey, 'spot')],
      }),
    );
    expect(launches(full, 'spot').map((action) => action.location)).toEqual([cheap.id, cheap.id]);
  });

  it('launches spot only where spot is offered', () => {
    const noSpot: LocationView = { ...zone('nospot'), spotPrice: undefined };
    const policy = SpotHedgePolicy.paper();
    const plan = policy.plan(view({ locations: [noSpot, A], target: 3 }));
    for (const action of launches(plan, 'spot')) expect(action.location).toBe(A.id);
  });

  it('is deterministic under a seed', () => {
    const run = (seed: number) =>
      SpotHedgePolicy.paper({ seed }).plan(view({ locations: [A, B, C, D, E], target: 8 }));
    expect(run(9)).toEqual(run(9));
  });
});

describe('SpotHedgePolicy overprovisioning and fallback', () => {
  it('keeps target + N_extra spot replicas (N_extra defaults to 1)', () => {
    expect(
      launches(new SpotHedgePolicy().plan(view({ locations: [A, B, C, D, E] })), 'spot'),
    ).toHaveLength(4);
    expect(
      launches(
        new SpotHedgePolicy({ overprovision: 2 }).plan(view({ locations: [A, B, C, D, E] })),
        'spot',
      ),
    ).toHaveLength(5);
    expect(
      launches(
        new SpotHedgePolicy({ overprovision: 0 }).plan(view({ locations: [A, B, C, D, E] })),
        'spot',
      ),
    ).toHaveLength(3);
  });

  it('terminates spot beyond target + N_extra', () => {
    const replicas = [A, B, C, D, E].map((location) => replica(location, 'spot'));
    const plan = new SpotHedgePolicy().plan(view({ locations: [A, B, C, D, E], replicas }));
    expect(terminated(plan)).toHaveLength(1);
    expect(launches(plan)).toHaveLength(0);
  });

  it('falls back to on-demand for missing ready spot, capped at the target', () => {
    // Nothing ready: base 0 + (4 - 0) = 4 → capped at 3.
    const plan = new SpotHedgePolicy().plan(view({ locations: [A, B, C, D] }));
    expect(launches(plan, 'on-demand')).toHaveLength(3);
    expect(launches(plan, 'on-demand')[0]!.reason).toContain('on-demand fallback');
  });

  it('fallback formula: base + max(0, spotTarget - readySpot)', () => {
    // target 3, base 1 → spotTarget = 3 - 1 + 1 = 3; 2 ready spot → on-demand = 1 + 1 = 2.
    const replicas = [replica(A, 'spot'), replica(B, 'spot'), replica(C, 'spot', 'starting')];
    const plan = new SpotHedgePolicy({ baseOnDemand: 1 }).plan(
      view({ locations: [A, B, C, D], replicas }),
    );
    expect(launches(plan, 'spot')).toHaveLength(0);
    expect(launches(plan, 'on-demand')).toHaveLength(2);
    // All 3 spot ready → only the base remains.
    const allReady = [replica(A, 'spot'), replica(B, 'spot'), replica(C, 'spot')];
    const settled = new SpotHedgePolicy({ baseOnDemand: 1 }).plan(
      view({ locations: [A, B, C, D], replicas: allReady }),
    );
    expect(launches(settled, 'on-demand')).toHaveLength(1);
    expect(launches(settled, 'on-demand')[0]!.reason).toContain('base');
  });

  it('base on-demand is kept even when all spot is ready; never above the target', () => {
    const policy = new SpotHedgePolicy({ baseOnDemand: 5 });
    const plan = policy.plan(view({ locations: [A, B], target: 2 }));
    expect(launches(plan, 'on-demand')).toHaveLength(2);
    expect(launches(plan, 'spot')).toHaveLength(1); // 2 - 2 + 1
  });

  it('releases on-demand only once enough spot is ready, not merely launched', () => {
    const policy = new SpotHedgePolicy();
    const onDemand = [replica(E, 'on-demand'), replica(E, 'on-demand'), replica(E, 'on-demand')];
    const starting = [A, B, C, D].map((location) => replica(location, 'spot', 'starting'));
    const whileStarting = policy.plan(
      view({ locations: [A, B, C, D, E], replicas: [...onDemand, ...starting] }),
    );
    expect(terminated(whileStarting)).toEqual([]);
    const twoReady = [
      replica(A, 'spot'),
      replica(B, 'spot'),
      replica(C, 'spot', 'starting'),
      replica(D, 'spot', 'provisioning'),
    ];
    const partly = policy.plan(
      view({ locations: [A, B, C, D, E], replicas: [...onDemand, ...twoReady] }),
    );
    expect(terminated(partly)).toHaveLength(1); // 4 - 2 = 2 on-demand still needed
    const allReady = [A, B, C, D].map((location) => replica(location, 'spot'));
    const settled = policy.plan(
      view({ locations: [A, B, C, D, E], replicas: [...onDemand, ...allReady] }),
    );
    expect(terminated(settled).sort()).toEqual(onDemand.map((item) => item.id).sort());
  });

  it('dynamicFallback: false keeps exactly the base', () => {
    const policy = new SpotHedgePolicy({ dynamicFallback: false, baseOnDemand: 1 });
    const plan = policy.plan(view({ locations: [A, B, C] }));
    expect(launches(plan, 'on-demand')).toHaveLength(1);
    expect(launches(plan, 'spot')).toHaveLength(3);
  });

  it('target 0 scales everything away', () => {
    const replicas = [replica(A, 'spot'), replica(B, 'on-demand')];
    const plan = new SpotHedgePolicy({ baseOnDemand: 1 }).plan(
      view({ locations: [A, B], target: 0, replicas }),
    );
    expect(terminated(plan).sort()).toEqual(replicas.map((item) => item.id).sort());
    expect(launches(plan)).toEqual([]);
  });
});

describe('SpotHedgePolicy terminations and caps', () => {
  it('prefers not-ready spot and spot in preempted locations', () => {
    const policy = new SpotHedgePolicy({ overprovision: 0 });
    preempt(policy, B);
    const readyA = replica(A, 'spot', 'ready', 1);
    const readyB = replica(B, 'spot', 'ready', 2);
    const startingC = replica(C, 'spot', 'starting', 3);
    const readyD = replica(D, 'spot', 'ready', 4);
    const plan = policy.plan(
      view({ locations: [A, B, C, D], target: 2, replicas: [readyA, readyB, startingC, readyD] }),
    );
    expect(terminated(plan).sort()).toEqual([readyB.id, startingC.id].sort());
  });

  it('releases not-ready on-demand before ready on-demand', () => {
    const policy = new SpotHedgePolicy({ overprovision: 0 });
    const spot = [A, B, C].map((location) => replica(location, 'spot'));
    const readyOnDemand = replica(D, 'on-demand', 'ready');
    const startingOnDemand = replica(D, 'on-demand', 'starting');
    const plan = policy.plan(
      view({ locations: [A, B, C, D], replicas: [...spot, readyOnDemand, startingOnDemand] }),
    );
    expect(terminated(plan).sort()).toEqual([readyOnDemand.id, startingOnDemand.id].sort());
    const plan2 = new SpotHedgePolicy({ overprovision: 0 }).plan(
      view({
        locations: [A, B, C, D],
        replicas: [...spot.slice(0, 2), readyOnDemand, startingOnDemand],
      }),
    );
    expect(terminated(plan2)).toEqual([startingOnDemand.id]); // one on-demand still needed
  });

  it('honours maxReplicas: base on-demand, then spot, then fallback', () => {
    const policy = new SpotHedgePolicy({ baseOnDemand: 1 });
    const plan = policy.plan(view({ locations: [A, B, C, D], target: 3, maxReplicas: 3 }));
    expect(plan.actions).toHaveLength(3);
    expect(launches(plan, 'on-demand')).toHaveLength(1);
    expect(launches(plan, 'spot')).toHaveLength(2);
  });

  it('terminates down to maxReplicas when the fleet is above it', () => {
    const replicas = [A, B, C, D].map((location) => replica(location, 'spot'));
    const plan = new SpotHedgePolicy().plan(
      view({ locations: [A, B, C, D], target: 3, maxReplicas: 2 }),
    );
    expect(launches(plan)).toHaveLength(2);
    const over = new SpotHedgePolicy().plan(
      view({ locations: [A, B, C, D], target: 3, maxReplicas: 2, replicas }),
    );
    expect(terminated(over)).toHaveLength(2);
  });

  it('ignores replicas that are not alive', () => {
    const replicas = [replica(A, 'spot', 'draining'), replica(B, 'spot', 'terminating')];
    const plan = new SpotHedgePolicy().plan(view({ locations: [A, B, C, D], replicas }));
    expect(terminated(plan)).toEqual([]);
    expect(launches(plan, 'spot')).toHaveLength(4);
  });

  it('avoids an on-demand location whose last on-demand launch failed for capacity', () => {
    const cheapOnDemand = zone('od-cheap', 1, 2);
    const policy = new SpotHedgePolicy();
    policy.observe({
      type: 'launch-failure',
      at: 0,
      location: cheapOnDemand.id,
      capacityType: 'on-demand',
      reason: 'capacity',
    });
    const plan = policy.plan(view({ locations: [A, cheapOnDemand] }));
    for (const action of launches(plan, 'on-demand')) expect(action.location).toBe(A.id);
  });
});

describe('SpotHedgePolicy options and state', () => {
  it('round-trips its state through snapshot/restore (JSON)', () => {
    const policy = SpotHedgePolicy.paper({ seed: 11 });
    preempt(policy, A);
    policy.plan(view({ locations: [A, B, C, D, E], target: 2 }));
    const saved = JSON.parse(JSON.stringify(policy.snapshot())) as ReturnType<
      typeof policy.snapshot
    >;
    const restored = SpotHedgePolicy.paper({ seed: 999 });
    restored.restore(saved);
    expect(restored.snapshot()).toEqual(policy.snapshot());
    const next = view({ locations: [A, B, C, D, E], target: 6 });
    expect(restored.plan(next)).toEqual(policy.plan(next));
  });

  it('rejects a snapshot of the wrong shape', () => {
    const policy = new SpotHedgePolicy();
    for (const state of [
      null,
      3,
      [],
      { kind: 'round-robin', version: 1 },
      { kind: 'spothedge', version: 2 },
    ]) {
      expect(() => policy.restore(state)).toThrow(InvalidArgumentError);
    }
    expect(() =>
      policy.restore({
        kind: 'spothedge',
        version: 1,
        preempted: [1],
        onDemandFailed: [],
        random: 0,
      }),
    ).toThrow(/state\.preempted/);
  });

  it('rejects bad options, naming the option and value', () => {
    expect(() => new SpotHedgePolicy({ overprovision: -1 })).toThrow(
      'Expected `options.overprovision` to be a non-negative integer, got `-1` (number)',
    );
    expect(() => new SpotHedgePolicy({ placement: 'fastest' as 'random' })).toThrow(
      /options\.placement/,
    );
    expect(() => new SpotHedgePolicy({ resetRule: 'never' as 'paper' })).toThrow(
      InvalidArgumentError,
    );
  });

  it('presets: paper and skypilot', () => {
    const paper = SpotHedgePolicy.paper({ overprovision: 2 });
    expect([paper.name, paper.placement, paper.resetRule, paper.overprovision]).toEqual([
      'spothedge-paper',
      'random',
      'paper',
      2,
    ]);
    const skypilot = SpotHedgePolicy.skypilot();
    expect([skypilot.name, skypilot.placement, skypilot.resetRule]).toEqual([
      'spothedge-skypilot',
      'cheapest',
      'skypilot',
    ]);
  });
});
