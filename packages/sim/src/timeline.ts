/**
 * What a simulation run leaves behind: one record per replica (where, what kind, when it
 * was launched, became ready and went away, in ticks), from which every metric is computed.
 */
import type { CapacityType } from '@spothedge/core';

export interface ReplicaRecord {
  readonly id: string;
  /** Location id. */
  readonly location: string;
  readonly capacityType: CapacityType;
  /** Tick at which it was launched (first tick it is held and billed). */
  readonly launchTick: number;
  /** First tick it counts as ready, or `undefined` if it never became ready. */
  readyTick: number | undefined;
  /** First tick it is no longer held (preempted or terminated); the window length if never. */
  endTick: number;
  /** How it ended. */
  endReason: 'preempted' | 'terminated' | 'running';
}

/** One run of one policy over one window. */
export interface Timeline {
  readonly ticks: number;
  readonly tickSeconds: number;
  /** Cold start in ticks: ticks before it are left out of availability and cost. */
  readonly coldStartTicks: number;
  readonly target: number;
  readonly replicas: readonly ReplicaRecord[];
  /** Locations in report order. */
  readonly locations: readonly string[];
}

/** Per-tick counts of held and ready replicas, by capacity type. */
export interface TickCounts {
  readonly heldSpot: Int32Array;
  readonly heldOnDemand: Int32Array;
  readonly readySpot: Int32Array;
  readonly readyOnDemand: Int32Array;
}

/** Counts held and ready replicas at every tick (difference arrays, O(replicas + ticks)). */
export function tickCounts(timeline: Timeline): TickCounts {
  const size = timeline.ticks + 1;
  const deltas = {
    heldSpot: new Int32Array(size),
    heldOnDemand: new Int32Array(size),
    readySpot: new Int32Array(size),
    readyOnDemand: new Int32Array(size),
  };
  for (const replica of timeline.replicas) {
    const spot = replica.capacityType === 'spot';
    const held = spot ? deltas.heldSpot : deltas.heldOnDemand;
    const end = Math.min(replica.endTick, timeline.ticks);
    if (replica.launchTick < end) {
      held[replica.launchTick]! += 1;
      held[end]! -= 1;
    }
    if (replica.readyTick !== undefined && replica.readyTick < end) {
      const ready = spot ? deltas.readySpot : deltas.readyOnDemand;
      ready[replica.readyTick]! += 1;
      ready[end]! -= 1;
    }
  }
  const integrate = (array: Int32Array) => {
    const out = new Int32Array(timeline.ticks);
    let running = 0;
    for (let tick = 0; tick < timeline.ticks; tick++) {
      running += array[tick]!;
      out[tick] = running;
    }
    return out;
  };
  return {
    heldSpot: integrate(deltas.heldSpot),
    heldOnDemand: integrate(deltas.heldOnDemand),
    readySpot: integrate(deltas.readySpot),
    readyOnDemand: integrate(deltas.readyOnDemand),
  };
}
