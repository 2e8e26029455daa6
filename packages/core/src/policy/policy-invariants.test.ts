/** Property-based tests of the plan contract, for every built-in policy. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EvenSpreadPolicy } from './even-spread-policy.js';
import { OnDemandOnlyPolicy } from './on-demand-only-policy.js';
import { RoundRobinPolicy } from './round-robin-policy.js';
import { SpotHedgePolicy } from './spot-hedge-policy.js';
import { StaticMixPolicy } from './static-mix-policy.js';
import { isAlive } from './types.js';
import type {
  FleetView,
  LocationView,
  Policy,
  PolicyEvent,
  ReplicaStatus,
  ReplicaView,
} from './types.js';

const statuses: ReplicaStatus[] = [
  'pending',
  'provisioning',
  'starting',
  'ready',
  'not-ready',
  'draining',
  'terminating',
];

const locationArbitrary: fc.Arbitrary<LocationView> = fc
  .record({
    zone: fc.integer({ min: 0, max: 11 }),
    spotPrice: fc.option(fc.double({ min: 0.1, max: 5, noNaN: true }), { nil: undefined }),
    onDemandPrice: fc.option(fc.double({ min: 0.5, max: 10, noNaN: true }), { nil: undefined }),
  })
  .map(({ zone, spotPrice, onDemandPrice }) => ({
    id: `fake/region-1/zone-${zone}`,
    cloud: 'fake',
    region: 'region-1',
    zone: `zone-${zone}`,
    spotPrice,
    onDemandPrice,
  }));

const viewArbitrary: fc.Arbitrary<FleetView> = fc
  .record({
    locations: fc.uniqueArray(locationArbitrary, {
      minLength: 0,
      maxLength: 6,
      selector: (location) => location.id,
    }),
    replicas: fc.array(
      fc.record({
        zone: fc.integer({ min: 0, max: 13 }), // some replicas sit in locations not in the view
        capacityType: fc.constantFrom('spot' as const, 'on-demand' as const),
        status: fc.constantFrom(...statuses),
        launchedAt: fc.integer({ min: 0, max: 1000 }),
      }),
      { maxLength: 25 },
    ),
    target: fc.integer({ min: 0, max: 12 }),
    maxReplicas: fc.integer({ min: 0, max: 30 }),
  })
  .map(({ locations, replicas, target, maxReplicas }) => ({
    now: 2000,
    target,
    maxReplicas,
    locations,
    replicas: replicas.map((replica, index): ReplicaView => ({
      id: `r${index}`,
      location: `fake/region-1/zone-${replica.zone}`,
      capacityType: replica.capacityType,
      status: replica.status,
      launchedAt: replica.launchedAt,
    })),
  }));

const eventArbitrary: fc.Arbitrary<PolicyEvent> = fc.oneof(
  fc.integer({ min: 0, max: 11 }).map((zone): PolicyEvent => ({
    type: 'preemption',
    at: 0,
    replicaId: 'x',
    location: `fake/region-1/zone-${zone}`,
  })),
  fc
    .record({
      zone: fc.integer({ min: 0, max: 11 }),
      capacityType: fc.constantFrom('spot' as const, 'on-demand' as const),
      reason: fc.constantFrom('capacity' as const, 'quota' as const, 'other' as const),
    })
    .map(({ zone, capacityType, reason }): PolicyEvent => ({
      type: 'launch-failure',
      at: 0,
      location: `fake/region-1/zone-${zone}`,
      capacityType,
      reason,
    })),
  fc
    .record({
      zone: fc.integer({ min: 0, max: 11 }),
      capacityType: fc.constantFrom('spot' as const, 'on-demand' as const),
    })
    .map(({ zone, capacityType }): PolicyEvent => ({
      type: 'launch-success',
      at: 0,
      replicaId: 'x',
      location: `fake/region-1/zone-${zone}`,
      capacityType,
    })),
);

const factories: Record<string, (seed: number) => Policy> = {
  'spothedge (default)': (seed) => new SpotHedgePolicy({ seed, baseOnDemand: seed % 3 }),
  'spothedge paper': (seed) => SpotHedgePolicy.paper({ seed }),
  'spothedge skypilot': (seed) => SpotHedgePolicy.skypilot({ seed, overprovision: seed % 3 }),
  'spothedge fixed base': (seed) =>
    new SpotHedgePolicy({ seed, dynamicFallback: false, baseOnDemand: 1 }),
  'on-demand only': () => new OnDemandOnlyPolicy(),
  'even spread': (seed) => new EvenSpreadPolicy({ overprovision: seed % 2 }),
  'round robin': (seed) => new RoundRobinPolicy({ overprovision: seed % 2 }),
  'static mix': (seed) =>
    new StaticMixPolicy({ onDemandBase: seed % 2, onDemandPercentageAboveBase: (seed * 7) % 101 }),
};

describe.each(Object.entries(factories))('%s plan invariants', (_name, create) => {
  it('stays within maxReplicas, launches only in known locations, terminates only alive replicas in the view', () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.array(eventArbitrary, { maxLength: 8 }),
        viewArbitrary,
        (seed, events, view) => {
          const policy = create(seed);
          for (const event of events) policy.observe(event);
          const plan = policy.plan(view);
          const known = new Set(view.locations.map((location) => location.id));
          const byId = new Map(view.replicas.map((replica) => [replica.id, replica]));
          const terminatedIds = new Set<string>();
          let launches = 0;
          for (const action of plan.actions) {
            expect(action.reason.length).toBeGreaterThan(0);
            if (action.type === 'launch') {
              launches++;
              expect(known.has(action.location)).toBe(true);
              const location = view.locations.find(
                (candidate) => candidate.id === action.location,
              )!;
              const price =
                action.capacityType === 'spot' ? location.spotPrice : location.onDemandPrice;
              expect(price).toBeDefined();
            } else {
              const replica = byId.get(action.replicaId);
              expect(replica).toBeDefined();
              expect(isAlive(replica!.status)).toBe(true);
              expect(terminatedIds.has(action.replicaId)).toBe(false);
              terminatedIds.add(action.replicaId);
            }
          }
          const aliveBefore = view.replicas.filter((replica) => isAlive(replica.status)).length;
          const aliveAfter = aliveBefore - terminatedIds.size + launches;
          expect(aliveAfter).toBeLessThanOrEqual(view.maxReplicas);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('is deterministic under a seed and after a snapshot/restore round trip', () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.array(eventArbitrary, { maxLength: 8 }),
        fc.array(viewArbitrary, { minLength: 1, maxLength: 3 }),
        (seed, events, views) => {
          const first = create(seed);
          const second = create(seed);
          for (const event of events) {
            first.observe(event);
            second.observe(event);
          }
          // Plan once, so the random generator has moved, then hand the state over.
          expect(second.plan(views[0]!)).toEqual(first.plan(views[0]!));
          const restored = create(seed);
          restored.restore(
            JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<Policy['snapshot']>,
          );
          for (const view of views) {
            const plan = first.plan(view);
            expect(second.plan(view)).toEqual(plan);
            expect(restored.plan(view)).toEqual(plan);
          }
          expect(restored.snapshot()).toEqual(first.snapshot());
        },
      ),
      { numRuns: 100 },
    );
  });
});
