/** Baseline: every replica on-demand, in the cheapest location. */
import { cheapestLocation, chooseTerminations, isReady, summarizeFleet } from './fleet-summary.js';
import { nameOption, snapshotRecord, snapshotStrings } from './policy-options.js';
import type { FleetView, JsonValue, Plan, PlanAction, Policy, PolicyEvent } from './types.js';

/** Options of {@link OnDemandOnlyPolicy}. */
export interface OnDemandOnlyPolicyOptions {
  /**
   * Name used in logs and reports.
   * @default 'on-demand-only'
   */
  readonly name?: string | undefined;
}

const SNAPSHOT_KIND = 'on-demand-only';

/**
 * The paper's "On-demand" baseline: keeps exactly `target` on-demand replicas in the
 * cheapest on-demand location (skipping locations whose last on-demand launch failed for
 * capacity or quota, until one succeeds there or all have failed); terminates any spot
 * replica it finds. The availability ceiling and the cost reference (cost 1.0).
 *
 * @example
 * ```ts
 * const policy = new OnDemandOnlyPolicy();
 * policy.plan({ now: 0, target: 2, maxReplicas: 4, locations, replicas: [] });
 * // → two on-demand launches in the cheapest location
 * ```
 */
export class OnDemandOnlyPolicy implements Policy {
  readonly name: string;
  readonly #failed = new Set<string>();

  constructor(options: OnDemandOnlyPolicyOptions = {}) {
    this.name = nameOption('options.name', options.name, 'on-demand-only');
  }

  observe(event: PolicyEvent): void {
    if (event.type === 'launch-failure' && event.capacityType === 'on-demand') {
      if (event.reason !== 'other') this.#failed.add(event.location);
    } else if (event.type === 'launch-success' && event.capacityType === 'on-demand') {
      this.#failed.delete(event.location);
    }
  }

  plan(view: FleetView): Plan {
    const summary = summarizeFleet(view);
    const maxReplicas = Math.max(0, Math.floor(view.maxReplicas));
    const wanted = Math.min(Math.max(0, Math.ceil(view.target)), maxReplicas);
    const actions: PlanAction[] = [];
    for (const replica of summary.aliveSpot) {
      actions.push({ type: 'terminate', replicaId: replica.id, reason: 'on-demand only: no spot' });
    }
    const alive = summary.aliveOnDemand.length;
    if (alive > wanted) {
      for (const replica of chooseTerminations(
        summary.aliveOnDemand,
        alive - wanted,
        (candidate) => (isReady(candidate) ? 1 : 0),
      )) {
        actions.push({
          type: 'terminate',
          replicaId: replica.id,
          reason: `on-demand scale-down: ${alive} alive > ${wanted} wanted`,
        });
      }
    }
    const location = cheapestLocation(summary.onDemandLocations, 'on-demand', this.#failed);
    if (location !== undefined) {
      for (let count = alive; count < wanted; count++) {
        actions.push({
          type: 'launch',
          location: location.id,
          capacityType: 'on-demand',
          reason: `on-demand ${count + 1}/${wanted}: cheapest on-demand location`,
        });
      }
    }
    return { actions };
  }

  snapshot(): JsonValue {
    return { kind: SNAPSHOT_KIND, version: 1, failed: [...this.#failed].sort() };
  }

  restore(state: JsonValue): void {
    const failed = snapshotStrings(snapshotRecord(state, SNAPSHOT_KIND), 'failed');
    this.#failed.clear();
    for (const location of failed) this.#failed.add(location);
  }
}
