/**
 * `pnpm demo` (TEMPORARY — the local demo replaces it): runs the built-in policies side
 * by side on a seeded synthetic spot-capacity scenario, in virtual time, and prints
 * availability, cost and preemptions per policy.
 *
 * The loop is the paper simulator's, on a made-up trace: 30 s ticks, 120 s cold start,
 * a target of 3 ready replicas, on-demand at 3x the spot price; a zone holds at most its
 * current spot capacity (the excess is preempted, launches beyond it fail).
 * It drives the policies directly (no engine, no provider), so it needs no build.
 */
import {
  EvenSpreadPolicy,
  OnDemandOnlyPolicy,
  RoundRobinPolicy,
  SeededRandom,
  SpotHedgePolicy,
  StaticMixPolicy,
} from '../packages/core/src/index.js';
import type { LocationView, Policy, ReplicaView } from '../packages/core/src/index.js';

const TICK_MS = 30_000;
const COLD_START_MS = 120_000;
const TICKS = 2_880; // 24 h
const TARGET = 3;
const SPOT_PRICE = 1;
const ON_DEMAND_PRICE = 3;
const SEEDS = [1, 2, 3];

const zones = [
  ['aws', 'us-east-1', 'us-east-1a'],
  ['aws', 'us-east-1', 'us-east-1b'],
  ['aws', 'us-west-2', 'us-west-2a'],
  ['gcp', 'us-central1', 'us-central1-a'],
  ['gcp', 'us-central1', 'us-central1-b'],
] as const;

const locations: LocationView[] = zones.map(([cloud, region, zone], index) => ({
  id: `${cloud}/${region}/${zone}`,
  cloud,
  region,
  zone,
  // Slightly different prices so `cheapest` placement has something to choose.
  spotPrice: SPOT_PRICE * (1 + index * 0.02),
  onDemandPrice: ON_DEMAND_PRICE,
}));

/**
 * Spot capacity per zone per tick: each zone flips between "available" (capacity 1–3)
 * and "outage" (0) as a Markov chain; zones of one region also share outages, which is
 * what makes spreading across regions pay.
 */
function syntheticCapacity(seed: number): number[][] {
  const random = new SeededRandom(seed);
  const regions = [...new Set(locations.map((location) => location.region))];
  const capacity: number[][] = [];
  let zoneState = locations.map(() => 1 + random.nextInt(3));
  let regionDown = regions.map(() => false);
  for (let tick = 0; tick < TICKS; tick++) {
    regionDown = regionDown.map((down) => (down ? random.next() > 0.01 : random.next() < 0.002));
    zoneState = zoneState.map((value) => {
      if (value === 0) return random.next() < 0.02 ? 1 + random.nextInt(3) : 0;
      if (random.next() < 0.004) return 0;
      if (random.next() < 0.01)
        return Math.max(1, Math.min(3, value + (random.next() < 0.5 ? -1 : 1)));
      return value;
    });
    capacity.push(
      locations.map((location, index) =>
        regionDown[regions.indexOf(location.region)] ? 0 : zoneState[index]!,
      ),
    );
  }
  return capacity;
}

interface Result {
  availability: number;
  cost: number;
  preemptions: number;
  launchFailures: number;
}

function simulate(policy: Policy, capacity: number[][]): Result {
  let replicas: ReplicaView[] = [];
  let nextId = 0;
  let availableTicks = 0;
  let countedTicks = 0;
  let cost = 0;
  let preemptions = 0;
  let launchFailures = 0;
  const coldStartTicks = COLD_START_MS / TICK_MS;
  for (let tick = 0; tick < TICKS; tick++) {
    const now = tick * TICK_MS;
    // 1. The cloud takes back spot replicas above each zone's capacity (newest first).
    locations.forEach((location, index) => {
      const spot = replicas
        .filter((replica) => replica.location === location.id && replica.capacityType === 'spot')
        .sort((a, b) => b.launchedAt - a.launchedAt);
      for (const victim of spot.slice(0, Math.max(0, spot.length - capacity[tick]![index]!))) {
        replicas = replicas.filter((replica) => replica.id !== victim.id);
        preemptions++;
        policy.observe({
          type: 'preemption',
          at: now,
          replicaId: victim.id,
          location: location.id,
        });
      }
    });
    // 2. Replicas become ready after the cold start.
    replicas = replicas.map((replica) =>
      replica.status !== 'ready' && now - replica.launchedAt >= COLD_START_MS
        ? { ...replica, status: 'ready', readyAt: now }
        : replica,
    );
    // 3. Plan and apply.
    const plan = policy.plan({ now, target: TARGET, maxReplicas: 4 * TARGET, locations, replicas });
    for (const action of plan.actions) {
      if (action.type === 'terminate') {
        replicas = replicas.filter((replica) => replica.id !== action.replicaId);
        continue;
      }
      const index = locations.findIndex((location) => location.id === action.location);
      const runningSpot = replicas.filter(
        (replica) => replica.location === action.location && replica.capacityType === 'spot',
      ).length;
      if (action.capacityType === 'spot' && runningSpot >= capacity[tick]![index]!) {
        launchFailures++;
        policy.observe({
          type: 'launch-failure',
          at: now,
          location: action.location,
          capacityType: 'spot',
          reason: 'capacity',
        });
        continue;
      }
      const id = `replica-${nextId++}`;
      replicas.push({
        id,
        location: action.location,
        capacityType: action.capacityType,
        status: 'starting',
        launchedAt: now,
      });
      policy.observe({
        type: 'launch-success',
        at: now,
        replicaId: id,
        location: action.location,
        capacityType: action.capacityType,
      });
    }
    // 4. Measure (after the first cold start, like the paper).
    for (const replica of replicas) {
      const location = locations.find((candidate) => candidate.id === replica.location)!;
      cost += replica.capacityType === 'spot' ? location.spotPrice! : location.onDemandPrice!;
    }
    if (tick >= coldStartTicks) {
      countedTicks++;
      if (replicas.filter((replica) => replica.status === 'ready').length >= TARGET)
        availableTicks++;
    }
  }
  return {
    availability: availableTicks / countedTicks,
    cost: cost / (TARGET * ON_DEMAND_PRICE * TICKS),
    preemptions,
    launchFailures,
  };
}

const policies: Array<() => Policy> = [
  () => new OnDemandOnlyPolicy(),
  () => new EvenSpreadPolicy(),
  () => new RoundRobinPolicy(),
  () => new StaticMixPolicy({ onDemandBase: 1 }),
  () => SpotHedgePolicy.paper({ seed: 7 }),
  () => SpotHedgePolicy.skypilot(),
  () => new SpotHedgePolicy({ baseOnDemand: 1 }),
];

const started = performance.now();
const rows = policies.map((create) => {
  const results = SEEDS.map((seed) => simulate(create(), syntheticCapacity(seed)));
  const mean = (pick: (result: Result) => number) =>
    results.reduce((sum, result) => sum + pick(result), 0) / results.length;
  return {
    policy: create().name,
    availability: `${(100 * mean((result) => result.availability)).toFixed(2)}%`,
    'min availability': `${(100 * Math.min(...results.map((result) => result.availability))).toFixed(2)}%`,
    'cost vs on-demand': mean((result) => result.cost).toFixed(3),
    preemptions: mean((result) => result.preemptions).toFixed(1),
    'spot launch failures': mean((result) => result.launchFailures).toFixed(1),
  };
});

console.log(
  `spothedge demo (temporary): ${locations.length} zones, target ${TARGET}, 30 s ticks, ` +
    `120 s cold start, 24 h of synthetic spot capacity x ${SEEDS.length} seeds; ` +
    `on-demand = ${ON_DEMAND_PRICE}x spot.\n`,
);
console.table(rows);
console.log(
  `\navailability = share of ticks with >= ${TARGET} ready replicas; cost relative to ${TARGET} ` +
    `on-demand replicas. Ran in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
);
