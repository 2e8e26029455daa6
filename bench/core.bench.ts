/**
 * `pnpm bench --filter core`: how long `SpotHedgePolicy.plan` takes on a large fleet
 * (10 000 replicas over 500 locations). Target: median <= 2 ms. Imports core's source
 * directly: the repository root does not depend on the package.
 */
import { SpotHedgePolicy } from '../packages/core/src/index.js';
import type { FleetView, LocationView, Policy, ReplicaView } from '../packages/core/src/index.js';
import { summarize, writeResult } from './results.js';

const REPLICAS = 10_000;
const LOCATIONS = 500;

function buildView(target: number): FleetView {
  const locations: LocationView[] = Array.from({ length: LOCATIONS }, (_, index) => ({
    id: `fake/region-${index % 25}/zone-${index}`,
    cloud: 'fake',
    region: `region-${index % 25}`,
    zone: `zone-${index}`,
    spotPrice: 1 + ((index * 37) % 100) / 100,
    onDemandPrice: 3 + ((index * 11) % 50) / 100,
  }));
  const replicas: ReplicaView[] = Array.from({ length: REPLICAS }, (_, index) => {
    const onDemand = index % 50 === 0; // 200 on-demand
    return {
      id: `replica-${index}`,
      location: locations[(index * 7) % LOCATIONS]!.id,
      capacityType: onDemand ? 'on-demand' : 'spot',
      status: index % 23 === 0 ? 'starting' : index % 97 === 0 ? 'pending' : 'ready',
      launchedAt: index * 1000,
    };
  });
  return { now: REPLICAS * 1000, target, maxReplicas: 2 * REPLICAS, locations, replicas };
}

function measure(policy: Policy, view: FleetView, iterations: number): number[] {
  for (let index = 0; index < 50; index++) policy.plan(view); // warm-up (JIT)
  const samples: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const start = performance.now();
    policy.plan(view);
    samples.push(performance.now() - start);
  }
  return samples;
}

function preemptSome(policy: SpotHedgePolicy): SpotHedgePolicy {
  for (let index = 0; index < LOCATIONS; index += 5) {
    policy.observe({
      type: 'preemption',
      at: 0,
      replicaId: 'x',
      location: `fake/region-${index % 25}/zone-${index}`,
    });
  }
  return policy;
}

// Growing: ~300 spot and ~200 on-demand launches to place.
const growing = buildView(10_050);
// Shrinking: ~1 000 spot replicas to choose for termination.
const shrinking = buildView(8_800);
const planMs = summarize(measure(preemptSome(new SpotHedgePolicy()), growing, 400));
const planMsPaper = summarize(measure(preemptSome(SpotHedgePolicy.paper()), growing, 400));
const planMsScaleDown = summarize(measure(preemptSome(new SpotHedgePolicy()), shrinking, 200));

writeResult('core', {
  planMs: { replicas: REPLICAS, locations: LOCATIONS, ...planMs },
  planMsPaper: { replicas: REPLICAS, locations: LOCATIONS, ...planMsPaper },
  planMsScaleDown: { replicas: REPLICAS, locations: LOCATIONS, ...planMsScaleDown },
});
