/** Baseline: a fixed spot/on-demand mix, like an EC2 Auto Scaling group's. */
import {
  cheapestLocation,
  chooseTerminations,
  isReady,
  spreadEvenly,
  summarizeFleet,
} from './fleet-summary.js';
import {
  nameOption,
  nonNegativeIntegerOption,
  numberInRangeOption,
  snapshotRecord,
  snapshotStrings,
} from './policy-options.js';
import type {
  FleetView,
  JsonValue,
  Plan,
  PlanAction,
  Policy,
  PolicyEvent,
  ReplicaView,
} from './types.js';

/** Options of {@link StaticMixPolicy}. */
export interface StaticMixPolicyOptions {
  /**
   * Name used in logs and reports.
   * @default 'static-mix'
   */
  readonly name?: string | undefined;
  /**
   * On-demand replicas filled first (ASG `OnDemandBaseCapacity`); never more than the
   * target.
   * @default 0
   */
  readonly onDemandBase?: number | undefined;
  /**
   * Share of the replicas above the base that are on-demand, 0–100, rounded up in favour
   * of on-demand (ASG `OnDemandPercentageAboveBaseCapacity`). The default 0 makes this
   * the static spot-only baseline.
   * @default 0
   */
  readonly onDemandPercentageAboveBase?: number | undefined;
}

const SNAPSHOT_KIND = 'static-mix';

/**
 * A static mix: of `target` replicas, `onDemandBase` plus
 * `ceil((target − base) × percentage / 100)` are on-demand (cheapest location), the rest
 * spot spread evenly over the spot locations. It never reacts to preemptions beyond
 * replacing lost replicas in place, which is what makes it a baseline.
 *
 * @example
 * ```ts
 * // 1 on-demand always, then 25% of the rest on-demand.
 * const policy = new StaticMixPolicy({ onDemandBase: 1, onDemandPercentageAboveBase: 25 });
 * ```
 */
export class StaticMixPolicy implements Policy {
  readonly name: string;
  readonly onDemandBase: number;
  readonly onDemandPercentageAboveBase: number;
  readonly #onDemandFailed = new Set<string>();

  constructor(options: StaticMixPolicyOptions = {}) {
    this.name = nameOption('options.name', options.name, 'static-mix');
    this.onDemandBase = nonNegativeIntegerOption('options.onDemandBase', options.onDemandBase, 0);
    this.onDemandPercentageAboveBase = numberInRangeOption(
      'options.onDemandPercentageAboveBase',
      options.onDemandPercentageAboveBase,
      { min: 0, max: 100 },
      0,
    );
  }

  observe(event: PolicyEvent): void {
    if (event.type === 'launch-failure' && event.capacityType === 'on-demand') {
      if (event.reason !== 'other') this.#onDemandFailed.add(event.location);
    } else if (event.type === 'launch-success' && event.capacityType === 'on-demand') {
      this.#onDemandFailed.delete(event.location);
    }
  }

  plan(view: FleetView): Plan {
    const summary = summarizeFleet(view);
    const maxReplicas = Math.max(0, Math.floor(view.maxReplicas));
    const target = Math.min(Math.max(0, Math.ceil(view.target)), maxReplicas);
    const base = Math.min(this.onDemandBase, target);
    const onDemandWanted =
      base + Math.ceil(((target - base) * this.onDemandPercentageAboveBase) / 100);
    const spotWanted = target - onDemandWanted;
    const actions: PlanAction[] = [];
    const scaleDown = (replicas: readonly ReplicaView[], wanted: number, kind: string): void => {
      if (replicas.length <= wanted) return;
      for (const replica of chooseTerminations(replicas, replicas.length - wanted, (candidate) =>
        isReady(candidate) ? 1 : 0,
      )) {
        actions.push({
          type: 'terminate',
          replicaId: replica.id,
          reason: `${kind} scale-down: ${replicas.length} alive > ${wanted} wanted`,
        });
      }
    };
    scaleDown(summary.aliveSpot, spotWanted, 'spot');
    scaleDown(summary.aliveOnDemand, onDemandWanted, 'on-demand');
    const onDemandLocation = cheapestLocation(
      summary.onDemandLocations,
      'on-demand',
      this.#onDemandFailed,
    );
    if (onDemandLocation !== undefined) {
      for (let count = summary.aliveOnDemand.length; count < onDemandWanted; count++) {
        actions.push({
          type: 'launch',
          location: onDemandLocation.id,
          capacityType: 'on-demand',
          reason: `on-demand ${count + 1}/${onDemandWanted}: base ${base} + ${this.onDemandPercentageAboveBase}% above base`,
        });
      }
    }
    const aliveSpot = summary.aliveSpot.length;
    spreadEvenly(
      summary.spotLocations,
      summary.spotCountByLocation,
      spotWanted - aliveSpot,
    ).forEach((location, index) => {
      actions.push({
        type: 'launch',
        location: location.id,
        capacityType: 'spot',
        reason: `spot ${aliveSpot + index + 1}/${spotWanted}: location with the fewest replicas`,
      });
    });
    return { actions };
  }

  snapshot(): JsonValue {
    return { kind: SNAPSHOT_KIND, version: 1, onDemandFailed: [...this.#onDemandFailed].sort() };
  }

  restore(state: JsonValue): void {
    const failed = snapshotStrings(snapshotRecord(state, SNAPSHOT_KIND), 'onDemandFailed');
    this.#onDemandFailed.clear();
    for (const location of failed) this.#onDemandFailed.add(location);
  }
}
