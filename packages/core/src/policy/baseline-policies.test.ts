import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { CapacityType } from '../provider.js';
import { EvenSpreadPolicy } from './even-spread-policy.js';
import { OnDemandOnlyPolicy } from './on-demand-only-policy.js';
import { RoundRobinPolicy } from './round-robin-policy.js';
import { StaticMixPolicy } from './static-mix-policy.js';
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
    id: `gcp/us-central1/${name}`,
    cloud: 'gcp',
    region: 'us-central1',
    zone: name,
    spotPrice,
    onDemandPrice,
  };
}

const A = zone('a', 1, 3.2);
const B = zone('b', 1, 3);
const C = zone('c', 1, 3.1);

let nextId = 0;
function replica(
  location: LocationView,
  capacityType: CapacityType,
  status: ReplicaStatus = 'ready',
): ReplicaView {
  nextId++;
  return { id: `r${nextId}`, location: location.id, capacityType, status, launchedAt: nextId };
}

function view(partial: Partial<FleetView>): FleetView {
  return { now: 0, target: 3, maxReplicas: 100, locations: [A, B, C], replicas: [], ...partial };
}

function launched(plan: Plan, capacityType?: CapacityType): string[] {
  return plan.actions
    .filter(
      (action): action is LaunchAction =>
        action.type === 'launch' &&
        (capacityType === undefined || action.capacityType === capacityType),
    )
    .map((action) => action.location);
}

function terminated(plan: Plan): string[] {
  return plan.actions.flatMap((action) => (action.type === 'terminate' ? [action.replicaId] : []));
}

describe('OnDemandOnlyPolicy', () => {
  it('launches target on-demand replicas in the cheapest on-demand location', () => {
    const plan = new OnDemandOnlyPolicy().plan(view({}));
    expect(launched(plan)).toEqual([B.id, B.id, B.id]);
    expect(launched(plan, 'spot')).toEqual([]);
  });

  it('terminates spot replicas and on-demand beyond the target, not-ready first', () => {
    const spot = replica(A, 'spot');
    const ready = [replica(B, 'on-demand'), replica(B, 'on-demand')];
    const starting = replica(B, 'on-demand', 'starting');
    const plan = new OnDemandOnlyPolicy().plan(
      view({ target: 2, replicas: [spot, ...ready, starting] }),
    );
    expect(terminated(plan).sort()).toEqual([spot.id, starting.id].sort());
  });

  it('moves away from a location after an on-demand capacity failure, back after success', () => {
    const policy = new OnDemandOnlyPolicy();
    policy.observe({
      type: 'launch-failure',
      at: 0,
      location: B.id,
      capacityType: 'on-demand',
      reason: 'capacity',
    });
    expect(launched(policy.plan(view({ target: 1 })))).toEqual([C.id]);
    const saved = policy.snapshot();
    policy.observe({
      type: 'launch-success',
      at: 0,
      replicaId: 'x',
      location: B.id,
      capacityType: 'on-demand',
    });
    expect(launched(policy.plan(view({ target: 1 })))).toEqual([B.id]);
    policy.restore(saved);
    expect(launched(policy.plan(view({ target: 1 })))).toEqual([C.id]);
  });
});

describe('EvenSpreadPolicy', () => {
  it('spreads spot only over every location, fewest first', () => {
    const plan = new EvenSpreadPolicy().plan(view({ target: 5 }));
    expect(launched(plan, 'spot')).toEqual([A.id, B.id, C.id, A.id, B.id]);
    expect(launched(plan, 'on-demand')).toEqual([]);
  });

  it('fills the emptiest locations given what runs', () => {
    const replicas = [replica(A, 'spot'), replica(A, 'spot'), replica(B, 'spot')];
    const plan = new EvenSpreadPolicy().plan(view({ target: 6, replicas }));
    expect(launched(plan)).toEqual([C.id, B.id, C.id]);
  });

  it('breaks ties in view order, as the artifact fills its (shuffled) zone list', () => {
    expect(
      launched(new EvenSpreadPolicy().plan(view({ target: 2, locations: [C, A, B] }))),
    ).toEqual([C.id, A.id]);
    // Level by level: the location that took the last free slot of one level is the first
    // of the next (the artifact's NaiveSpread does the same).
    const replicas = [replica(B, 'spot'), replica(A, 'spot')];
    expect(
      launched(new EvenSpreadPolicy().plan(view({ target: 4, locations: [C, B, A], replicas }))),
    ).toEqual([C.id, C.id]);
  });

  it('has no memory: keeps placing in a preempted location', () => {
    const policy = new EvenSpreadPolicy();
    policy.observe({ type: 'preemption', at: 0, replicaId: 'x', location: A.id });
    expect(launched(policy.plan(view({ target: 1 })))).toEqual([A.id]);
  });

  it('scales down from the most crowded location and drops on-demand', () => {
    const crowded = [replica(A, 'spot'), replica(A, 'spot')];
    const single = replica(B, 'spot');
    const onDemand = replica(C, 'on-demand');
    const plan = new EvenSpreadPolicy().plan(
      view({ target: 2, replicas: [...crowded, single, onDemand] }),
    );
    expect(terminated(plan).sort()).toEqual([onDemand.id, crowded[1]!.id].sort());
  });

  it('adds overprovision and round-trips its (empty) state', () => {
    const policy = new EvenSpreadPolicy({ overprovision: 1 });
    expect(launched(policy.plan(view({ target: 3 })))).toHaveLength(4);
    policy.restore(policy.snapshot());
    expect(() => policy.restore({ kind: 'spothedge', version: 1 })).toThrow(InvalidArgumentError);
  });
});

describe('RoundRobinPolicy', () => {
  it('places each new spot replica in the next location in turn, across plans', () => {
    const policy = new RoundRobinPolicy();
    expect(launched(policy.plan(view({ target: 2 })))).toEqual([A.id, B.id]);
    const replicas = [replica(A, 'spot'), replica(B, 'spot')];
    expect(launched(policy.plan(view({ target: 4, replicas })))).toEqual([C.id, A.id]);
  });

  it('resumes the cursor from a snapshot', () => {
    const policy = new RoundRobinPolicy();
    policy.plan(view({ target: 2 }));
    const copy = new RoundRobinPolicy();
    copy.restore(
      JSON.parse(JSON.stringify(policy.snapshot())) as ReturnType<typeof policy.snapshot>,
    );
    expect(copy.plan(view({ target: 1 }))).toEqual(policy.plan(view({ target: 1 })));
    expect(() => copy.restore({ kind: 'round-robin', version: 1, cursor: -1 })).toThrow(
      /state\.cursor/,
    );
  });

  it('terminates on-demand replicas (spot only)', () => {
    const onDemand = replica(A, 'on-demand');
    const spot = [replica(A, 'spot'), replica(B, 'spot'), replica(C, 'spot')];
    expect(
      terminated(new RoundRobinPolicy().plan(view({ replicas: [onDemand, ...spot] }))),
    ).toEqual([onDemand.id]);
  });
});

describe('StaticMixPolicy', () => {
  it('defaults to a static spot-only fleet spread evenly', () => {
    const plan = new StaticMixPolicy().plan(view({ target: 4 }));
    expect(launched(plan, 'spot')).toEqual([A.id, B.id, C.id, A.id]);
    expect(launched(plan, 'on-demand')).toEqual([]);
  });

  it('applies onDemandBase then the percentage above base, rounding up for on-demand', () => {
    // target 6: base 1, then ceil(5 × 30%) = 2 → 3 on-demand, 3 spot.
    const plan = new StaticMixPolicy({ onDemandBase: 1, onDemandPercentageAboveBase: 30 }).plan(
      view({ target: 6 }),
    );
    expect(launched(plan, 'on-demand')).toEqual([B.id, B.id, B.id]);
    expect(launched(plan, 'spot')).toHaveLength(3);
  });

  it('replaces a lost spot replica with spot, never with on-demand', () => {
    const policy = new StaticMixPolicy({ onDemandBase: 1 });
    const replicas = [replica(B, 'on-demand'), replica(A, 'spot')];
    const plan = policy.plan(view({ target: 3, replicas }));
    expect(launched(plan, 'spot')).toEqual([B.id]);
    expect(launched(plan, 'on-demand')).toEqual([]);
  });

  it('validates its options', () => {
    expect(() => new StaticMixPolicy({ onDemandPercentageAboveBase: 120 })).toThrow(
      'Expected `options.onDemandPercentageAboveBase` to be a number from 0 to 100, got `120` (number)',
    );
    expect(() => new StaticMixPolicy({ onDemandBase: 1.5 })).toThrow(/options\.onDemandBase/);
  });
});
