import { describe, expect, it } from 'vitest';
import { AdaptiveSpotHedgePolicy } from './adaptive-spot-hedge-policy.js';
import type {
  FleetView,
  JsonValue,
  LaunchAction,
  LocationView,
  Plan,
  ReplicaView,
} from './types.js';

const locations: LocationView[] = ['a', 'b', 'c'].map((zone) => ({
  id: `aws/us-east-1/us-east-1${zone}`,
  cloud: 'aws',
  region: 'us-east-1',
  zone: `us-east-1${zone}`,
  spotPrice: 1,
  onDemandPrice: 3,
}));
const [a, b, c] = locations.map((location) => location.id) as [string, string, string];

const MINUTE = 60_000;

function replica(
  id: string,
  location: string,
  capacityType: 'spot' | 'on-demand',
  status: ReplicaView['status'] = 'ready',
): ReplicaView {
  return { id, location, capacityType, status, launchedAt: 0 };
}

function view(replicas: ReplicaView[], now = 1_000): FleetView {
  return { now, target: 3, maxReplicas: 10, locations, replicas };
}

function launches(plan: Plan, capacityType: 'spot' | 'on-demand'): LaunchAction[] {
  return plan.actions.filter(
    (action): action is LaunchAction =>
      action.type === 'launch' && action.capacityType === capacityType,
  );
}

function terminations(plan: Plan): string[] {
  return plan.actions.flatMap((action) => (action.type === 'terminate' ? [action.replicaId] : []));
}

function preempt(policy: AdaptiveSpotHedgePolicy, location: string, at: number, count = 1) {
  for (let index = 0; index < count; index++) {
    policy.observe({ type: 'preemption', at, replicaId: `gone-${index}`, location });
  }
}

function failSpotLaunch(policy: AdaptiveSpotHedgePolicy, location: string, at: number) {
  policy.observe({
    type: 'launch-failure',
    at,
    location,
    capacityType: 'spot',
    reason: 'capacity',
  });
}

describe('AdaptiveSpotHedgePolicy', () => {
  it('starts with target + extra spot spread over distinct locations and on-demand for the target', () => {
    const plan = new AdaptiveSpotHedgePolicy().plan(view([]));
    const spot = launches(plan, 'spot');
    expect(spot).toHaveLength(4);
    expect(new Set(spot.map((action) => action.location)).size).toBe(3);
    // Calm fleet: no margin above the target (the paper would launch 3 here too, capped).
    expect(launches(plan, 'on-demand')).toHaveLength(3);
  });

  it('calm fleet missing its extra spot replica, all ready spot in one location: no on-demand', () => {
    // Only a has capacity (the paper would still launch one on-demand replica of margin).
    const fleet = [replica('s1', a, 'spot'), replica('s2', a, 'spot'), replica('s3', a, 'spot')];
    const plan = new AdaptiveSpotHedgePolicy().plan(view(fleet));
    expect(launches(plan, 'spot')).toHaveLength(1);
    expect(launches(plan, 'on-demand')).toHaveLength(0);
  });

  it('spot short with ready spot in several locations: one on-demand replica of margin, calm or not', () => {
    // The extra spot replica cannot be placed and every location holding ours is full: a dip
    // in any one of them takes a replica, so the paper's one-replica margin is kept.
    const fleet = [replica('s1', a, 'spot'), replica('s2', b, 'spot'), replica('s3', c, 'spot')];
    const plan = new AdaptiveSpotHedgePolicy().plan(view(fleet));
    expect(launches(plan, 'spot')).toHaveLength(1);
    const onDemand = launches(plan, 'on-demand');
    expect(onDemand).toHaveLength(1);
    expect(onDemand[0]!.reason).toMatch(/spot short, ready in 3 locations/);
    // Not once the extra replica is placed, even while it warms (it stands in, as for the
    // fleet margin), nor when spot is not short at all.
    const warming = [...fleet, replica('s4', a, 'spot', 'starting')];
    expect(launches(new AdaptiveSpotHedgePolicy().plan(view(warming)), 'on-demand')).toHaveLength(
      0,
    );
    const full = [...fleet, replica('s4', a, 'spot')];
    expect(launches(new AdaptiveSpotHedgePolicy().plan(view(full)), 'on-demand')).toHaveLength(0);
    // An on-demand replica already held for that margin is kept while spot stays short.
    const held = [...fleet, replica('o1', a, 'on-demand')];
    expect(terminations(new AdaptiveSpotHedgePolicy().plan(view(held)))).toEqual([]);
    // The rule can be turned off: then a calm fleet keeps no margin (the previous default).
    const off = new AdaptiveSpotHedgePolicy({ marginWhileSpotShort: false });
    expect(launches(off.plan(view(fleet)), 'on-demand')).toHaveLength(0);
    expect(terminations(off.plan(view(held)))).toEqual(['o1']);
  });

  it('spot short in one location: buys the margin once an hour of on-demand was saved', () => {
    // Only a has capacity: the paper holds one on-demand replica of margin here, we hold none
    // and count the saving, one replica's worth per millisecond.
    const fleet = [replica('s1', a, 'spot'), replica('s2', a, 'spot'), replica('s3', a, 'spot')];
    const policy = new AdaptiveSpotHedgePolicy();
    expect(launches(policy.plan(view(fleet, 0)), 'on-demand')).toHaveLength(0);
    expect(launches(policy.plan(view(fleet, 59 * MINUTE)), 'on-demand')).toHaveLength(0);
    expect(policy.savings(59 * MINUTE)).toBe(59 * MINUTE);
    const bought = launches(policy.plan(view(fleet, 60 * MINUTE)), 'on-demand');
    expect(bought).toHaveLength(1);
    expect(bought[0]!.reason).toMatch(
      /spot short, ready in 1 location, 1\.0 on-demand hours saved/,
    );
    // Held, it matches the paper's rule: the savings stay where they are.
    const held = [...fleet, replica('o1', b, 'on-demand')];
    expect(terminations(policy.plan(view(held, 90 * MINUTE)))).toEqual([]);
    expect(policy.savings(120 * MINUTE)).toBe(60 * MINUTE);
    // Holding more than the paper's rule (a hot location's cover) is counted against them.
    preempt(policy, a, 120 * MINUTE, 2);
    const covered = [...fleet, replica('s4', b, 'spot'), replica('o1', b, 'on-demand')];
    expect(terminations(policy.plan(view(covered, 120 * MINUTE)))).toEqual([]);
    expect(policy.savings(150 * MINUTE)).toBe(30 * MINUTE);
    // Below the reserve again (and calm): spot short in one location keeps no margin.
    expect(terminations(policy.plan(view(held, 150 * MINUTE)))).toEqual(['o1']);
    // A reserve never reached keeps the previous behaviour.
    const never = new AdaptiveSpotHedgePolicy({ savingsReserveMs: Number.MAX_SAFE_INTEGER });
    never.plan(view(fleet, 0));
    expect(launches(never.plan(view(fleet, 600 * MINUTE)), 'on-demand')).toHaveLength(0);
    // Unless that location holds a single ready replica: the margin then covers its loss
    // whole, so it is kept at once, savings or not (3 + 1 − 1 = 3 on-demand).
    const single = launches(
      never.plan(view([replica('s1', a, 'spot')], 600 * MINUTE)),
      'on-demand',
    );
    expect(single).toHaveLength(3);
    expect(single[0]!.reason).toMatch(/spot short, 1 ready: the margin covers its loss/);
  });

  it('after a preemption anywhere, keeps one replica of margin while the fleet score is high', () => {
    const policy = new AdaptiveSpotHedgePolicy();
    preempt(policy, c, 0);
    // All ready spot in one location, so only the fleet score asks for the margin.
    const fleet = [replica('s1', a, 'spot'), replica('s2', a, 'spot'), replica('s3', a, 'spot')];
    // Score 1 at once → margin 1 → one on-demand for the missing extra.
    expect(launches(policy.plan(view(fleet, 0)), 'on-demand')).toHaveLength(1);
    // Three half-lives later the score is 0.125 < marginRisk 0.5: no margin.
    expect(launches(policy.plan(view(fleet, 30 * MINUTE)), 'on-demand')).toHaveLength(0);
  });

  it('covers the ready replicas of a hot location with on-demand, tapering as its score decays', () => {
    const policy = new AdaptiveSpotHedgePolicy();
    // Location a just took two of our replicas; two more are still ready there.
    preempt(policy, a, 0, 2);
    const fleet = [
      replica('s1', a, 'spot'),
      replica('s2', a, 'spot'),
      replica('s3', b, 'spot'),
      replica('s4', c, 'spot'),
    ];
    // 4 ready spot, but a may take both of its replicas: 3 + 2 − 4 = 1 on-demand.
    const hot = policy.plan(view(fleet, 0));
    expect(launches(hot, 'on-demand')).toHaveLength(1);
    expect(launches(hot, 'on-demand')[0]!.reason).toMatch(/preempted recently/);
    // One half-life later: score 1 → covers one replica, margin 1 → 3 + 1 − 4 = 0.
    expect(launches(policy.plan(view(fleet, 10 * MINUTE)), 'on-demand')).toHaveLength(0);

    // A single preemption does not make a location hot: the fleet's margin covers the next
    // one (and a replacement warming in a calm location stands in for it).
    const once = new AdaptiveSpotHedgePolicy();
    preempt(once, a, 0);
    expect(once.isHot(a, 0)).toBe(false);
    const margin = launches(once.plan(view(fleet.slice(0, 3), 0)), 'on-demand');
    expect(margin).toHaveLength(1);
    expect(margin[0]!.reason).toMatch(/margin 1 \(recent preemptions/);
    expect(margin[0]!.reason).not.toMatch(/preempted recently/);

    // All four in the hot location: cover ceil(score) of them, capped at the target.
    const crowded = fleet.map((replica_) => ({ ...replica_, location: a }));
    preempt(policy, a, 10 * MINUTE, 3); // score 1 + 3 = 4
    expect(launches(policy.plan(view(crowded, 10 * MINUTE)), 'on-demand')).toHaveLength(3);
  });

  it('covers a location whose last loss took all of ours there wholly or not at all', () => {
    // Location a took both replicas we had there at once; b and c kept theirs.
    const policy = new AdaptiveSpotHedgePolicy();
    preempt(policy, a, 0, 2);
    policy.plan(view([replica('s3', b, 'spot'), replica('s4', c, 'spot')], 0));
    // Back in a: two ready there. Score 2 covers both, so the cover stands: 3 + 2 − 4 = 1.
    const two = [
      replica('s1', a, 'spot'),
      replica('s2', a, 'spot'),
      replica('s3', b, 'spot'),
      replica('s4', c, 'spot'),
    ];
    expect(launches(policy.plan(view(two, MINUTE)), 'on-demand')).toHaveLength(1);
    // Three ready there: score 2 would cover two of them, which cannot keep the target
    // through another loss of all three, so none is bought.
    const three = [...two.slice(0, 2), replica('s5', a, 'spot'), two[3]!];
    const none = policy.plan(view(three, MINUTE));
    expect(launches(none, 'on-demand')).toHaveLength(0);
    const release = policy.plan(view([...three, replica('o1', b, 'on-demand')], MINUTE));
    expect(terminations(release)).toEqual(['o1']);
    expect(release.actions[0]!.reason).toMatch(/no partial cover for .*1a/);
    // The same state survives a restart.
    const copy = new AdaptiveSpotHedgePolicy();
    copy.restore(policy.snapshot());
    expect(launches(copy.plan(view(three, MINUTE)), 'on-demand')).toHaveLength(0);

    // Where a loss left some of ours in place, the partial cover is kept: 3 + 2 − 4 = 1.
    const partial = new AdaptiveSpotHedgePolicy();
    preempt(partial, a, 0, 2);
    expect(launches(partial.plan(view(three, MINUTE)), 'on-demand')).toHaveLength(1);
    // A later loss in a that leaves some of ours there brings the partial cover back:
    // score 2 · ½ + 1 = 2 covers two of the three, 3 + 2 − 4 = 1.
    preempt(policy, a, 10 * MINUTE, 1);
    expect(launches(policy.plan(view(three, 10 * MINUTE)), 'on-demand')).toHaveLength(1);
  });

  it('keeps on-demand until enough spot is ready (never merely launched)', () => {
    const policy = new AdaptiveSpotHedgePolicy();
    const fleet = [
      replica('s1', a, 'spot'),
      replica('s2', b, 'spot'),
      replica('s3', c, 'spot', 'starting'),
      replica('s4', a, 'spot', 'starting'),
      replica('o1', b, 'on-demand'),
    ];
    expect(terminations(policy.plan(view(fleet)))).toEqual([]);
    const warm = fleet.map((replica_) =>
      replica_.capacityType === 'spot' ? { ...replica_, status: 'ready' as const } : replica_,
    );
    expect(terminations(policy.plan(view(warm)))).toEqual(['o1']);
  });

  it('places new spot away from hot, recently failed and recently preempted locations', () => {
    const policy = new AdaptiveSpotHedgePolicy({ overprovision: 1 });
    preempt(policy, a, 0);
    failSpotLaunch(policy, b, 0);
    // a (preempted) and b (failed) are both on cooldown: everything goes to c, as the paper
    // would (neither is tried while another location will do).
    const first = launches(policy.plan(view([], 30_000)), 'spot').map((action) => action.location);
    expect(first).toEqual([c, c, c, c]);
    // Once b's cooldown is over it comes first; a, still hot (score 0.66), comes even after
    // c, which already holds two of our replicas.
    const fleet = [replica('s1', c, 'spot'), replica('s2', c, 'spot')];
    const later = launches(policy.plan(view(fleet, 6 * MINUTE)), 'spot').map(
      (action) => action.location,
    );
    expect(later).toEqual([b, c]);
  });

  it('fills locations up to the extra, then puts the rest where most of ours already are', () => {
    const counts = (plan: Plan, fleet: ReplicaView[] = []) => {
      const held = new Map<string, number>();
      for (const location of [
        ...fleet.map((replica) => replica.location),
        ...launches(plan, 'spot').map((action) => action.location),
      ]) {
        held.set(location, (held.get(location) ?? 0) + 1);
      }
      return [...held.values()].sort((x, y) => y - x);
    };
    const two = (fleet: ReplicaView[]): FleetView => ({
      ...view(fleet),
      locations: [locations[0]!, locations[1]!],
    });
    // Two zones: 3 + 1, so losing the zone with one leaves the target standing (2 + 2 would
    // go below it whichever zone is lost).
    expect(counts(new AdaptiveSpotHedgePolicy().plan(two([])))).toEqual([3, 1]);
    const fleet = [replica('s1', a, 'spot'), replica('s2', a, 'spot'), replica('s3', b, 'spot')];
    const plan = new AdaptiveSpotHedgePolicy().plan(two(fleet));
    expect(launches(plan, 'spot').map((action) => action.location)).toEqual([a]);
    // Three zones: one each, the fourth joins one of them.
    expect(counts(new AdaptiveSpotHedgePolicy().plan(view([])))).toEqual([2, 1, 1]);
    // Two extra replicas: any location holding two can go and leave the target standing.
    expect(counts(new AdaptiveSpotHedgePolicy({ overprovision: 2 }).plan(view([])))).toEqual([
      2, 2, 1,
    ]);
    // Shallower, more frequent shortfalls on request: the surplus spread evenly.
    const spread = new AdaptiveSpotHedgePolicy({ concentrateSurplus: false });
    expect(counts(spread.plan(two([])))).toEqual([2, 2]);
    expect(launches(spread.plan(two(fleet)), 'spot').map((action) => action.location)).toEqual([b]);
  });

  it('passes over a location that preempted us for the preemption cooldown (10 min), longer than after a failed launch (5 min)', () => {
    // hotRisk 5: a single preemption does not make a location hot; only the cooldowns act.
    const policy = new AdaptiveSpotHedgePolicy({ hotRisk: 5 });
    preempt(policy, a, 0);
    failSpotLaunch(policy, b, 0);
    const spotAt = (at: number) =>
      launches(policy.plan(view([], at)), 'spot').map((action) => action.location);
    expect(spotAt(MINUTE)).toEqual([c, c, c, c]);
    // After 6 minutes the failed location is tried again, the preempted one is not.
    const six = spotAt(6 * MINUTE);
    expect(six).toContain(b);
    expect(six).not.toContain(a);
    // After 11 minutes it is tried again, one launch per location before any gets two.
    expect(new Set(spotAt(11 * MINUTE).slice(0, 3))).toEqual(new Set([a, b, c]));
  });

  it('a successful launch ends a failed-launch cooldown at once, a preemption cooldown not', () => {
    const succeeded = (policy: AdaptiveSpotHedgePolicy, location: string) =>
      policy.observe({
        type: 'launch-success',
        at: MINUTE,
        replicaId: 'x',
        location,
        capacityType: 'spot',
      });
    const failed = new AdaptiveSpotHedgePolicy({ hotRisk: 5 });
    failSpotLaunch(failed, a, 0);
    succeeded(failed, a);
    const afterFailure = launches(failed.plan(view([], 2 * MINUTE)), 'spot');
    expect(afterFailure.map((action) => action.location)).toContain(a);
    // A location that flaps (capacity back, then gone again) may take the new replica too.
    const preempted = new AdaptiveSpotHedgePolicy({ hotRisk: 5 });
    preempt(preempted, a, 0);
    succeeded(preempted, a);
    const afterPreemption = launches(preempted.plan(view([], 2 * MINUTE)), 'spot');
    expect(afterPreemption.map((action) => action.location)).not.toContain(a);
    // A shorter preemptionCooldownMs lets it back sooner (at 6 min, past the 5-min failure
    // cooldown a preemption also starts).
    const short = new AdaptiveSpotHedgePolicy({ hotRisk: 5, preemptionCooldownMs: 5 * MINUTE });
    preempt(short, a, 0);
    const soon = launches(short.plan(view([], 6 * MINUTE)), 'spot');
    expect(soon.map((action) => action.location)).toContain(a);
    const sameTime = launches(preempted.plan(view([], 6 * MINUTE)), 'spot');
    expect(sameTime.map((action) => action.location)).not.toContain(a);
  });

  it('lets a spot replica warming in a calm location stand in for the fleet margin only', () => {
    const policy = new AdaptiveSpotHedgePolicy();
    preempt(policy, c, 0, 2); // fleet score 2 > marginRisk; c took two: hot
    const ready = [replica('s1', a, 'spot'), replica('s2', b, 'spot'), replica('s3', a, 'spot')];
    // 3 ready, nothing warming: one on-demand for the margin (the paper's behaviour).
    expect(launches(policy.plan(view(ready, 0)), 'on-demand')).toHaveLength(1);
    // The replacement is already warming in calm b: an on-demand launched now would be
    // ready no sooner, so none is launched, and a warming one is released.
    const warmingCalm = [...ready, replica('s4', b, 'spot', 'starting')];
    const calmPlan = policy.plan(view(warmingCalm, 0));
    expect(launches(calmPlan, 'on-demand')).toHaveLength(0);
    expect(calmPlan.actions.some((action) => action.type === 'launch')).toBe(false);
    expect(
      terminations(
        policy.plan(view([...warmingCalm, replica('o1', a, 'on-demand', 'starting')], 0)),
      ),
    ).toEqual(['o1']);
    // Warming in the hot location c does not count: the margin stays on-demand.
    const warmingHot = [...ready, replica('s4', c, 'spot', 'starting')];
    expect(launches(policy.plan(view(warmingHot, 0)), 'on-demand')).toHaveLength(1);
    // Never for the target itself: 2 ready + 2 warming still needs 1 on-demand.
    const short = [
      replica('s1', a, 'spot'),
      replica('s2', b, 'spot'),
      replica('s3', a, 'spot', 'starting'),
      replica('s4', b, 'spot', 'starting'),
    ];
    expect(launches(policy.plan(view(short, 0)), 'on-demand')).toHaveLength(1);
    // Nor for a hot location's exposure: a just took two and still holds two ready.
    const exposed = new AdaptiveSpotHedgePolicy();
    preempt(exposed, a, 0, 2);
    const atRisk = [
      replica('s1', a, 'spot'),
      replica('s2', a, 'spot'),
      replica('s3', b, 'spot'),
      replica('s4', c, 'spot', 'starting'),
    ];
    // 3 ready, exposure 2: 3 + 2 − 3 = 2 on-demand, warming c notwithstanding.
    expect(launches(exposed.plan(view(atRisk, 0)), 'on-demand')).toHaveLength(2);
  });

  it('trims surplus spot: ready replicas beyond the target from the most crowded location', () => {
    const fleet = [
      replica('s1', a, 'spot'),
      replica('s2', a, 'spot'),
      replica('s3', a, 'spot'),
      replica('s4', b, 'spot'),
      replica('s5', c, 'spot'),
    ];
    const plan = new AdaptiveSpotHedgePolicy().plan(view(fleet));
    const [terminated] = terminations(plan);
    expect(['s1', 's2', 's3']).toContain(terminated);
    expect(terminations(plan)).toHaveLength(1);
  });

  it('undoes a double once an empty location is usable again, unless that location preempts us more', () => {
    const d = 'aws/us-east-1/us-east-1d';
    const four = [...locations, { ...locations[0]!, id: d, zone: 'us-east-1d' }];
    // a holds two of the four (target 3 + 1): losing a takes us below the target. d is empty.
    const fleet = [
      replica('s1', a, 'spot'),
      replica('s2', a, 'spot'),
      replica('s3', b, 'spot'),
      replica('s4', c, 'spot'),
    ];
    const now = 5 * 60 * MINUTE;
    const fleetView: FleetView = {
      now,
      target: 3,
      maxReplicas: 10,
      locations: four,
      replicas: fleet,
    };
    const plan = new AdaptiveSpotHedgePolicy().plan(fleetView);
    expect(launches(plan, 'spot').map((action) => action.location)).toEqual([d]);
    expect(launches(plan, 'spot')[0]!.reason).toMatch(/spread repair/);
    expect(launches(plan, 'on-demand')).toHaveLength(0);
    // Once the new replica is ready, one of a's two is released.
    const repaired = [...fleet, replica('s5', d, 'spot')];
    expect(['s1', 's2']).toContain(
      terminations(new AdaptiveSpotHedgePolicy().plan({ ...fleetView, replicas: repaired }))[0],
    );
    // Off: the double stays.
    const off = new AdaptiveSpotHedgePolicy({ spreadRepair: false }).plan(fleetView);
    expect(plan.actions.length).toBeGreaterThan(off.actions.length);
    expect(launches(off, 'spot')).toHaveLength(0);
    // d preempted us (hours ago: calm now, no cooldown) and a never did: a keeps its two.
    const flaky = new AdaptiveSpotHedgePolicy();
    preempt(flaky, d, 0);
    expect(launches(flaky.plan(fleetView), 'spot')).toHaveLength(0);
    // Nor while the fleet is not calm.
    const restless = new AdaptiveSpotHedgePolicy();
    preempt(restless, b, now - MINUTE);
    expect(launches(restless.plan(fleetView), 'spot')).toHaveLength(0);
  });

  it('round-trips its state and names bad options with their values', () => {
    const policy = new AdaptiveSpotHedgePolicy({ seed: 3 });
    preempt(policy, a, 10, 2);
    const copy = new AdaptiveSpotHedgePolicy();
    copy.restore(policy.snapshot());
    expect(copy.risk(a, 10)).toBe(2);
    expect(copy.risk(a, 10 + 10 * MINUTE)).toBeCloseTo(1);
    expect(copy.isHot(a, 10)).toBe(true);
    // The preemption cooldown comes back too: a is still passed over.
    const spot = launches(copy.plan(view([], 10 + MINUTE)), 'spot');
    expect(spot.map((action) => action.location)).not.toContain(a);
    // A snapshot from before the preemption cooldown (no `preemptedAt`) still restores.
    const { preemptedAt: _dropped, ...older } = policy.snapshot() as Record<string, JsonValue>;
    const fromOlder = new AdaptiveSpotHedgePolicy();
    fromOlder.restore(older);
    expect(fromOlder.risk(a, 10)).toBe(2);
    expect(() => copy.restore({ ...older, preemptedAt: [] })).toThrow(/snapshot/);
    expect(() => copy.restore({ ...older, savings: [1, 2] })).toThrow(/snapshot/);
    // The savings come back too.
    const saver = new AdaptiveSpotHedgePolicy();
    const short = [replica('s1', a, 'spot'), replica('s2', a, 'spot'), replica('s3', a, 'spot')];
    saver.plan(view(short, 0));
    const restored = new AdaptiveSpotHedgePolicy();
    restored.restore(saver.snapshot());
    expect(restored.savings(MINUTE)).toBe(MINUTE);
    expect(fromOlder.savings(MINUTE)).toBe(0);
    expect(() => copy.restore({ kind: 'other', version: 1 })).toThrow(/snapshot/);
    expect(() => new AdaptiveSpotHedgePolicy({ overprovision: -1 })).toThrow(
      /`options\.overprovision`.*-1/,
    );
    expect(
      () => new AdaptiveSpotHedgePolicy({ concentrateSurplus: 'yes' as unknown as boolean }),
    ).toThrow(/`options\.concentrateSurplus`.*yes/);
    expect(() => new AdaptiveSpotHedgePolicy({ hotRisk: -0.5 })).toThrow(
      /`options\.hotRisk`.*-0\.5/,
    );
    expect(() => new AdaptiveSpotHedgePolicy({ riskHalfLifeMs: 0 })).toThrow(
      /`options\.riskHalfLifeMs`.*0/,
    );
    expect(() => new AdaptiveSpotHedgePolicy({ preemptionCooldownMs: -1 })).toThrow(
      /`options\.preemptionCooldownMs`.*-1/,
    );
    expect(
      () => new AdaptiveSpotHedgePolicy({ marginWhileSpotShort: 'yes' as unknown as boolean }),
    ).toThrow(/`options\.marginWhileSpotShort`.*yes/);
    expect(() => new AdaptiveSpotHedgePolicy({ savingsReserveMs: -1 })).toThrow(
      /`options\.savingsReserveMs`.*-1/,
    );
    expect(() => new AdaptiveSpotHedgePolicy({ spreadRepair: 1 as unknown as boolean })).toThrow(
      /`options\.spreadRepair`.*1/,
    );
  });
});
