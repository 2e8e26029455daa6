/** Baseline: spot only, spread evenly over every spot location. */
import { chooseTerminations, isReady, spreadEvenly, summarizeFleet } from './fleet-summary.js';
import { nameOption, nonNegativeIntegerOption, snapshotRecord } from './policy-options.js';
import type { FleetView, JsonValue, Plan, PlanAction, Policy, PolicyEvent } from './types.js';

/** Options of {@link EvenSpreadPolicy}. */
export interface EvenSpreadPolicyOptions {
  /**
   * Name used in logs and reports.
   * @default 'even-spread'
   */
  readonly name?: string | undefined;
  /**
   * Spot replicas kept beyond the target.
   * @default 0
   */
  readonly overprovision?: number | undefined;
}

const SNAPSHOT_KIND = 'even-spread';

/**
 * The paper's "Even Spread" baseline (the artifact's `NaiveSpread`): spot only, no
 * fallback, no memory of failures. Each new replica goes to the spot location holding
 * the fewest replicas (first in view order on ties); scale-down drops not-ready replicas
 * first, then the most crowded locations' newest. Terminates any on-demand replica.
 * Like the artifact's, it retries the first emptiest location every time, even one with
 * no capacity, so its results depend on the order of `view.locations` (the simulator's
 * `--zone-shuffle artifact` reproduces the artifact's per-repeat orders).
 *
 * @example
 * ```ts
 * const policy = new EvenSpreadPolicy();
 * policy.plan({ now: 0, target: 3, maxReplicas: 6, locations, replicas: [] });
 * // → one spot launch in each of the first three locations
 * ```
 */
export class EvenSpreadPolicy implements Policy {
  readonly name: string;
  readonly overprovision: number;

  constructor(options: EvenSpreadPolicyOptions = {}) {
    this.name = nameOption('options.name', options.name, 'even-spread');
    this.overprovision = nonNegativeIntegerOption(
      'options.overprovision',
      options.overprovision,
      0,
    );
  }

  observe(_event: PolicyEvent): void {
    // Stateless by design: the baseline ignores what happened.
  }

  plan(view: FleetView): Plan {
    const summary = summarizeFleet(view);
    const target = Math.max(0, Math.ceil(view.target));
    const wanted = Math.min(
      target > 0 ? target + this.overprovision : 0,
      Math.max(0, Math.floor(view.maxReplicas)),
    );
    const actions: PlanAction[] = [];
    for (const replica of summary.aliveOnDemand) {
      actions.push({ type: 'terminate', replicaId: replica.id, reason: 'even spread: spot only' });
    }
    const alive = summary.aliveSpot.length;
    if (alive > wanted) {
      const counts = summary.spotCountByLocation;
      for (const replica of chooseTerminations(
        summary.aliveSpot,
        alive - wanted,
        (candidate) =>
          // Not ready first, then crowded locations (fewer-first would undo the spread).
          (isReady(candidate) ? 1_000_000 : 0) - (counts.get(candidate.location) ?? 0),
      )) {
        actions.push({
          type: 'terminate',
          replicaId: replica.id,
          reason: `spot scale-down: ${alive} alive > ${wanted} wanted`,
        });
      }
    }
    const locations = spreadEvenly(
      summary.spotLocations,
      summary.spotCountByLocation,
      wanted - alive,
    );
    locations.forEach((location, index) => {
      actions.push({
        type: 'launch',
        location: location.id,
        capacityType: 'spot',
        reason: `spot ${alive + index + 1}/${wanted}: location with the fewest replicas`,
      });
    });
    return { actions };
  }

  snapshot(): JsonValue {
    return { kind: SNAPSHOT_KIND, version: 1 };
  }

  restore(state: JsonValue): void {
    snapshotRecord(state, SNAPSHOT_KIND);
  }
}
