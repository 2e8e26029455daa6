/**
 * Shared, allocation-light helpers for the built-in policies: one pass over a
 * {@link FleetView} that counts what every policy needs, and a termination chooser.
 * Everything here is O(replicas + locations) so `plan` stays fast on large fleets.
 */
import type { CapacityType } from '../provider.js';
import { isAlive } from './types.js';
import type { FleetView, LocationView, ReplicaView } from './types.js';

/** Counts over the alive replicas of a view, by capacity type and location. */
export interface FleetSummary {
  readonly locationsById: ReadonlyMap<string, LocationView>;
  /** Locations where spot is offered (`spotPrice` set), in view order. */
  readonly spotLocations: readonly LocationView[];
  /** Locations where on-demand is offered (`onDemandPrice` set), in view order. */
  readonly onDemandLocations: readonly LocationView[];
  readonly aliveSpot: readonly ReplicaView[];
  readonly aliveOnDemand: readonly ReplicaView[];
  readonly readySpot: number;
  readonly readyOnDemand: number;
  /** Alive spot replicas per location id. */
  readonly spotCountByLocation: Map<string, number>;
}

/** Summarizes `view` in one pass. */
export function summarizeFleet(view: FleetView): FleetSummary {
  const locationsById = new Map<string, LocationView>();
  const spotLocations: LocationView[] = [];
  const onDemandLocations: LocationView[] = [];
  for (const location of view.locations) {
    if (locationsById.has(location.id)) continue;
    locationsById.set(location.id, location);
    if (location.spotPrice !== undefined) spotLocations.push(location);
    if (location.onDemandPrice !== undefined) onDemandLocations.push(location);
  }
  const aliveSpot: ReplicaView[] = [];
  const aliveOnDemand: ReplicaView[] = [];
  const spotCountByLocation = new Map<string, number>();
  let readySpot = 0;
  let readyOnDemand = 0;
  for (const replica of view.replicas) {
    if (!isAlive(replica.status)) continue;
    if (replica.capacityType === 'spot') {
      aliveSpot.push(replica);
      spotCountByLocation.set(
        replica.location,
        (spotCountByLocation.get(replica.location) ?? 0) + 1,
      );
      if (replica.status === 'ready') readySpot++;
    } else {
      aliveOnDemand.push(replica);
      if (replica.status === 'ready') readyOnDemand++;
    }
  }
  return {
    locationsById,
    spotLocations,
    onDemandLocations,
    aliveSpot,
    aliveOnDemand,
    readySpot,
    readyOnDemand,
    spotCountByLocation,
  };
}

/** The price of `capacityType` in `location`, `Infinity` when it is not offered. */
export function priceOf(location: LocationView, capacityType: CapacityType): number {
  const price = capacityType === 'spot' ? location.spotPrice : location.onDemandPrice;
  return price ?? Number.POSITIVE_INFINITY;
}

/**
 * The cheapest location for `capacityType` among `locations` (first in order on ties),
 * skipping `avoid` unless every location is avoided.
 */
export function cheapestLocation(
  locations: readonly LocationView[],
  capacityType: CapacityType,
  avoid?: ReadonlySet<string>,
): LocationView | undefined {
  let best: LocationView | undefined;
  let bestAvoided: LocationView | undefined;
  for (const location of locations) {
    const price = priceOf(location, capacityType);
    if (avoid?.has(location.id)) {
      if (bestAvoided === undefined || price < priceOf(bestAvoided, capacityType)) {
        bestAvoided = location;
      }
    } else if (best === undefined || price < priceOf(best, capacityType)) {
      best = location;
    }
  }
  return best ?? bestAvoided;
}

/**
 * SpotHedge's dynamic on-demand fallback (the paper's rule): `base` plus every spot replica
 * of the spot target that is not ready, capped at the target.
 *
 * @example
 * ```ts
 * // Target 3, no on-demand floor, 3 + 1 spot wanted, 2 of them ready: 2 on-demand.
 * const onDemand = dynamicFallback({ target: 3, base: 0, spotTarget: 4, readySpot: 2 });
 * ```
 */
export function dynamicFallback(options: {
  readonly target: number;
  readonly base: number;
  readonly spotTarget: number;
  readonly readySpot: number;
}): number {
  const { target, base, spotTarget, readySpot } = options;
  return Math.min(target, base + Math.max(0, spotTarget - readySpot));
}

/** Whether a replica has passed its readiness probe and serves now. */
export function isReady(replica: ReplicaView): boolean {
  return replica.status === 'ready';
}

/**
 * Picks `count` replicas to terminate: lowest `rank` first (callers rank not-ready and
 * badly placed replicas low), then the most recently launched, then the highest id, so
 * the choice does not depend on the order of `candidates`. O(n) plus a numeric sort of
 * the one rank bucket that is taken in part.
 */
export function chooseTerminations(
  candidates: readonly ReplicaView[],
  count: number,
  rank: (replica: ReplicaView) => number,
): ReplicaView[] {
  if (count <= 0 || candidates.length === 0) return [];
  if (count >= candidates.length) return [...candidates];
  const ranks = new Float64Array(candidates.length);
  const bucketSizes = new Map<number, number>();
  for (let index = 0; index < candidates.length; index++) {
    const value = rank(candidates[index]!);
    ranks[index] = value;
    bucketSizes.set(value, (bucketSizes.get(value) ?? 0) + 1);
  }
  // The rank whose bucket is taken in part; every lower rank goes entirely.
  let cutoff = 0;
  let below = 0;
  for (const value of [...bucketSizes.keys()].sort((a, b) => a - b)) {
    const size = bucketSizes.get(value)!;
    cutoff = value;
    if (below + size >= count) break;
    below += size;
  }
  const chosen: ReplicaView[] = [];
  const bucket: ReplicaView[] = [];
  for (let index = 0; index < candidates.length; index++) {
    if (ranks[index]! < cutoff) chosen.push(candidates[index]!);
    else if (ranks[index] === cutoff) bucket.push(candidates[index]!);
  }
  const need = count - chosen.length;
  // The `need` newest of the bucket: find the launch-time threshold with a typed sort.
  const times = new Float64Array(bucket.length);
  for (let index = 0; index < bucket.length; index++) times[index] = bucket[index]!.launchedAt;
  times.sort();
  const threshold = times[times.length - need]!;
  const ties: ReplicaView[] = [];
  for (const replica of bucket) {
    if (replica.launchedAt > threshold) chosen.push(replica);
    else if (replica.launchedAt === threshold) ties.push(replica);
  }
  ties.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  for (let index = 0; chosen.length < count; index++) chosen.push(ties[index]!);
  return chosen;
}

/**
 * Water-filling: `count` new replicas over `locations`, each to a location with the
 * fewest replicas so far (`counts`, by location id), first in order on ties. Returns one
 * location per new replica. O(locations × levels + count).
 */
export function spreadEvenly(
  locations: readonly LocationView[],
  counts: ReadonlyMap<string, number>,
  count: number,
): LocationView[] {
  if (locations.length === 0 || count <= 0) return [];
  const current = locations.map((location) => counts.get(location.id) ?? 0);
  let level = Math.min(...current);
  const chosen: LocationView[] = [];
  while (chosen.length < count) {
    for (let index = 0; index < locations.length && chosen.length < count; index++) {
      if (current[index] === level) {
        current[index]++;
        chosen.push(locations[index]!);
      }
    }
    level++;
  }
  return chosen;
}
