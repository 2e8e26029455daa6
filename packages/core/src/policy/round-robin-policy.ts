/** Baseline: spot only, each new replica in the next location in turn. */
import { chooseTerminations, isReady, summarizeFleet } from './fleet-summary.js';
import {
  nameOption,
  nonNegativeIntegerOption,
  snapshotInteger,
  snapshotRecord,
} from './policy-options.js';
import type { FleetView, JsonValue, Plan, PlanAction, Policy, PolicyEvent } from './types.js';

/** Options of {@link RoundRobinPolicy}. */
export interface RoundRobinPolicyOptions {
  /**
   * Name used in logs and reports.
   * @default 'round-robin'
   */
  readonly name?: string | undefined;
  /**
   * Spot replicas kept beyond the target.
   * @default 0
   */
  readonly overprovision?: number | undefined;
}

const SNAPSHOT_KIND = 'round-robin';

/**
 * The paper's "Round Robin" baseline (the artifact's `RoundRobin`): spot only, no
 * fallback. A cursor walks the spot locations in view order; each new replica goes to
 * the cursor's location and advances it, whether or not the last launch there failed.
 * The cursor is the policy's serializable state. Terminates any on-demand replica.
 *
 * @example
 * ```ts
 * const policy = new RoundRobinPolicy();
 * policy.plan({ now: 0, target: 2, maxReplicas: 4, locations, replicas: [] });
 * // → spot in locations[0], then locations[1]; the next launch goes to locations[2]
 * ```
 */
export class RoundRobinPolicy implements Policy {
  readonly name: string;
  readonly overprovision: number;
  #cursor = 0;

  constructor(options: RoundRobinPolicyOptions = {}) {
    this.name = nameOption('options.name', options.name, 'round-robin');
    this.overprovision = nonNegativeIntegerOption(
      'options.overprovision',
      options.overprovision,
      0,
    );
  }

  observe(_event: PolicyEvent): void {
    // Stateless about outcomes: the cursor moves on every launch regardless.
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
      actions.push({ type: 'terminate', replicaId: replica.id, reason: 'round robin: spot only' });
    }
    const alive = summary.aliveSpot.length;
    if (alive > wanted) {
      for (const replica of chooseTerminations(summary.aliveSpot, alive - wanted, (candidate) =>
        isReady(candidate) ? 1 : 0,
      )) {
        actions.push({
          type: 'terminate',
          replicaId: replica.id,
          reason: `spot scale-down: ${alive} alive > ${wanted} wanted`,
        });
      }
    }
    const locations = summary.spotLocations;
    if (locations.length === 0) return { actions };
    for (let count = alive; count < wanted; count++) {
      const location = locations[this.#cursor % locations.length]!;
      this.#cursor = (this.#cursor + 1) % locations.length;
      actions.push({
        type: 'launch',
        location: location.id,
        capacityType: 'spot',
        reason: `spot ${count + 1}/${wanted}: next location in turn`,
      });
    }
    return { actions };
  }

  snapshot(): JsonValue {
    return { kind: SNAPSHOT_KIND, version: 1, cursor: this.#cursor };
  }

  restore(state: JsonValue): void {
    this.#cursor = snapshotInteger(snapshotRecord(state, SNAPSHOT_KIND), 'cursor');
  }
}
