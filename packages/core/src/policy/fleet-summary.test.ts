import { describe, expect, it } from 'vitest';
import {
  cheapestLocation,
  chooseTerminations,
  dynamicFallback,
  isReady,
  spreadEvenly,
  summarizeFleet,
} from './fleet-summary.js';
import type { LocationView, ReplicaStatus, ReplicaView } from './types.js';

const east: LocationView = {
  id: 'aws/us-east-1/us-east-1a',
  cloud: 'aws',
  region: 'us-east-1',
  zone: 'us-east-1a',
  spotPrice: 0.3,
  onDemandPrice: 1.2,
};
const west: LocationView = {
  id: 'aws/us-west-2/us-west-2b',
  cloud: 'aws',
  region: 'us-west-2',
  zone: 'us-west-2b',
  spotPrice: 0.5,
  onDemandPrice: 1.0,
};
const onDemandOnly: LocationView = {
  id: 'gcp/us-central1/us-central1-a',
  cloud: 'gcp',
  region: 'us-central1',
  zone: 'us-central1-a',
  onDemandPrice: 1.1,
};

function replica(
  id: string,
  partial: { location?: string; spot?: boolean; status?: ReplicaStatus; launchedAt?: number } = {},
): ReplicaView {
  return {
    id,
    location: partial.location ?? east.id,
    capacityType: partial.spot === false ? 'on-demand' : 'spot',
    status: partial.status ?? 'ready',
    launchedAt: partial.launchedAt ?? 0,
  };
}

describe('summarizeFleet', () => {
  it('counts alive replicas by capacity type, readiness and location, skipping the rest', () => {
    const summary = summarizeFleet({
      now: 0,
      target: 3,
      maxReplicas: 10,
      // A duplicated location is listed once.
      locations: [east, west, onDemandOnly, east],
      replicas: [
        replica('s1'),
        replica('s2', { status: 'starting' }),
        replica('s3', { location: west.id }),
        replica('s4', { status: 'preempted' }),
        replica('s5', { status: 'terminating' }),
        replica('d1', { spot: false, location: onDemandOnly.id }),
        replica('d2', { spot: false, status: 'pending' }),
      ],
    });
    expect(summary.spotLocations.map((location) => location.id)).toEqual([east.id, west.id]);
    expect(summary.onDemandLocations.map((location) => location.id)).toEqual([
      east.id,
      west.id,
      onDemandOnly.id,
    ]);
    expect(summary.aliveSpot.map((view) => view.id)).toEqual(['s1', 's2', 's3']);
    expect(summary.aliveOnDemand.map((view) => view.id)).toEqual(['d1', 'd2']);
    expect([summary.readySpot, summary.readyOnDemand]).toEqual([2, 1]);
    expect([...summary.spotCountByLocation]).toEqual([
      [east.id, 2],
      [west.id, 1],
    ]);
    expect(summary.locationsById.get(onDemandOnly.id)).toBe(onDemandOnly);
  });
});

describe('cheapestLocation', () => {
  it('picks the lowest price for the capacity type and skips locations without it', () => {
    expect(cheapestLocation([east, west, onDemandOnly], 'spot')).toBe(east);
    expect(cheapestLocation([east, west, onDemandOnly], 'on-demand')).toBe(west);
    expect(cheapestLocation([onDemandOnly, east], 'spot')).toBe(east);
  });

  it('avoids the given locations unless every one is avoided', () => {
    expect(cheapestLocation([east, west], 'spot', new Set([east.id]))).toBe(west);
    expect(cheapestLocation([east, west], 'spot', new Set([east.id, west.id]))).toBe(east);
    expect(cheapestLocation([], 'spot')).toBeUndefined();
  });
});

describe('chooseTerminations', () => {
  const fleet = [
    replica('a', { launchedAt: 1 }),
    replica('b', { launchedAt: 3 }),
    replica('c', { launchedAt: 2, status: 'starting' }),
    replica('d', { launchedAt: 3 }),
  ];
  const warmingFirst = (view: ReplicaView) => (isReady(view) ? 1 : 0);

  it('takes the lowest rank first, then the newest, then the highest id', () => {
    const ids = (views: ReplicaView[]) => views.map((view) => view.id).sort();
    expect(ids(chooseTerminations(fleet, 1, warmingFirst))).toEqual(['c']);
    expect(ids(chooseTerminations(fleet, 2, warmingFirst))).toEqual(['c', 'd']);
    expect(ids(chooseTerminations(fleet, 3, warmingFirst))).toEqual(['b', 'c', 'd']);
  });

  it('does not depend on the order of the candidates', () => {
    const reversed = chooseTerminations([...fleet].reverse(), 2, warmingFirst);
    expect(reversed.map((view) => view.id).sort()).toEqual(['c', 'd']);
  });

  it('returns nothing for a count of zero and everything for a count beyond the fleet', () => {
    expect(chooseTerminations(fleet, 0, warmingFirst)).toEqual([]);
    expect(chooseTerminations(fleet, 9, warmingFirst)).toHaveLength(4);
  });
});

describe('spreadEvenly', () => {
  it('fills the emptiest locations first, first in order on ties', () => {
    const counts = new Map([[east.id, 2]]);
    const chosen = spreadEvenly([east, west, onDemandOnly], counts, 4);
    expect(chosen.map((location) => location.id)).toEqual([
      west.id,
      onDemandOnly.id,
      west.id,
      onDemandOnly.id,
    ]);
    expect(spreadEvenly([east], counts, 0)).toEqual([]);
  });
});

describe('dynamicFallback', () => {
  it('is the base plus every spot replica of the spot target not ready, capped at the target', () => {
    expect(dynamicFallback({ target: 3, base: 0, spotTarget: 4, readySpot: 4 })).toBe(0);
    expect(dynamicFallback({ target: 3, base: 0, spotTarget: 4, readySpot: 3 })).toBe(1);
    expect(dynamicFallback({ target: 3, base: 0, spotTarget: 4, readySpot: 0 })).toBe(3);
    expect(dynamicFallback({ target: 3, base: 1, spotTarget: 3, readySpot: 3 })).toBe(1);
    expect(dynamicFallback({ target: 3, base: 1, spotTarget: 3, readySpot: 1 })).toBe(3);
    // More spot ready than wanted never lowers the floor.
    expect(dynamicFallback({ target: 3, base: 1, spotTarget: 3, readySpot: 5 })).toBe(1);
  });
});
