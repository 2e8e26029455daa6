/**
 * SpotHedge (SkyServe, EuroSys 2025): spread spot replicas over failure domains, keep a
 * few extra, and fall back to on-demand while spot is not ready. See DESIGN.md §3 and
 * docs/policies.md.
 */
import { SeededRandom } from '../random.js';
import {
  cheapestLocation,
  chooseTerminations,
  dynamicFallback,
  isReady,
  summarizeFleet,
} from './fleet-summary.js';
import type { FleetSummary } from './fleet-summary.js';
import {
  booleanOption,
  choiceOption,
  nameOption,
  nonNegativeIntegerOption,
  snapshotInteger,
  snapshotRecord,
  snapshotStrings,
} from './policy-options.js';
import type {
  FleetView,
  JsonValue,
  LaunchAction,
  LocationView,
  Plan,
  PlanAction,
  Policy,
  PolicyEvent,
  ReplicaView,
} from './types.js';

/**
 * How a new spot replica picks among the candidate locations:
 * - `random`: uniformly at random with the seeded generator (the paper's simulator).
 * - `cheapest`: the lowest spot price, first in view order on ties (SkyPilot).
 */
export type SpotPlacement = 'random' | 'cheapest';

/**
 * When every location goes back to *active* because too few are active:
 * - `paper`: when at most `min(1, locations − 3)` are active (the paper's simulator; with
 *   fewer than 3 spot locations it never resets).
 * - `skypilot`: when fewer than 2 are active (SkyPilot's `DynamicFallbackSpotPlacer`).
 */
export type LocationResetRule = 'paper' | 'skypilot';

/** Whether SpotHedge currently places spot replicas in a location. */
export type LocationStatus = 'active' | 'preempted';

/** Options of {@link SpotHedgePolicy}. */
export interface SpotHedgePolicyOptions {
  /**
   * Name used in logs and reports.
   * @default 'spothedge'
   */
  readonly name?: string | undefined;
  /**
   * N_extra: spot replicas kept beyond what the target needs, as a cushion against
   * preemptions.
   * @default 1
   */
  readonly overprovision?: number | undefined;
  /**
   * On-demand replicas always kept (never more than the target), so a few replicas
   * survive any spot outage.
   * @default 0
   */
  readonly baseOnDemand?: number | undefined;
  /**
   * Launch on-demand replicas for spot replicas that are not ready (preempted, failed to
   * launch or still starting) and release them once enough spot is ready. `false` keeps
   * exactly `baseOnDemand` on-demand replicas.
   * @default true
   */
  readonly dynamicFallback?: boolean | undefined;
  /**
   * How a new spot replica chooses among candidate locations.
   * @default 'cheapest'
   */
  readonly placement?: SpotPlacement | undefined;
  /**
   * When all locations reset to active.
   * @default 'skypilot'
   */
  readonly resetRule?: LocationResetRule | undefined;
  /**
   * Seed of the generator behind `placement: 'random'`.
   * @default 0
   */
  readonly seed?: number | undefined;
}

const SNAPSHOT_KIND = 'spothedge';

/**
 * The SpotHedge placement policy, exactly as DESIGN.md §3:
 *
 * 1. Locations start *active*; a spot preemption or a spot launch failure for capacity
 *    (or quota) marks a location *preempted*; a successful spot launch there marks it
 *    active again. When too few are active ({@link LocationResetRule}), all reset to
 *    active. A new spot replica goes to an active location that holds none of this
 *    service's spot replicas yet, else to any active location ({@link SpotPlacement}).
 * 2. It keeps `target − base + overprovision` spot replicas alive.
 * 3. On-demand count = `base + max(0, spotTarget − readySpot)`, capped at the target;
 *    on-demand replicas go only once enough spot replicas are *ready*.
 *
 * Terminations prefer replicas that are not ready yet, then replicas in preempted (or
 * unknown) locations, then the newest. Never plans more alive replicas than
 * `view.maxReplicas`: base on-demand first, then spot, then fallback on-demand.
 *
 * The location state is updated by `observe`; the reset rule is applied at the start of
 * each `plan`, when the number of spot locations is known.
 *
 * @example
 * ```ts
 * const policy = SpotHedgePolicy.paper({ seed: 42 }); // faithful to the paper's simulator
 * const production = new SpotHedgePolicy({ baseOnDemand: 1, overprovision: 1 });
 * const plan = production.plan(view);
 * production.observe({ type: 'preemption', at: now, replicaId: 'r1', location: 'aws/us-east-1/us-east-1a' });
 * ```
 */
export class SpotHedgePolicy implements Policy {
  readonly name: string;
  /** N_extra, resolved. */
  readonly overprovision: number;
  readonly baseOnDemand: number;
  readonly dynamicFallback: boolean;
  readonly placement: SpotPlacement;
  readonly resetRule: LocationResetRule;
  readonly #random: SeededRandom;
  /** Spot-preempted locations; every other location is active. */
  readonly #preempted = new Set<string>();
  /** Locations where an on-demand launch failed for capacity/quota since the last success. */
  readonly #onDemandFailed = new Set<string>();

  constructor(options: SpotHedgePolicyOptions = {}) {
    this.name = nameOption('options.name', options.name, 'spothedge');
    this.overprovision = nonNegativeIntegerOption(
      'options.overprovision',
      options.overprovision,
      1,
    );
    this.baseOnDemand = nonNegativeIntegerOption('options.baseOnDemand', options.baseOnDemand, 0);
    this.dynamicFallback = booleanOption('options.dynamicFallback', options.dynamicFallback, true);
    this.placement = choiceOption(
      'options.placement',
      options.placement,
      ['random', 'cheapest'],
      'cheapest',
    );
    this.resetRule = choiceOption(
      'options.resetRule',
      options.resetRule,
      ['paper', 'skypilot'],
      'skypilot',
    );
    this.#random = new SeededRandom(nonNegativeIntegerOption('options.seed', options.seed, 0));
  }

  /**
   * The paper's simulator: random placement, reset when at most `min(1, locations − 3)`
   * are active, N_extra = 1, no base on-demand, dynamic fallback. Named `spothedge-paper`.
   *
   * @example
   * ```ts
   * const policy = SpotHedgePolicy.paper({ seed: 7, overprovision: 2 });
   * ```
   */
  static paper(options: SpotHedgePolicyOptions = {}): SpotHedgePolicy {
    return new SpotHedgePolicy({
      name: 'spothedge-paper',
      placement: 'random',
      resetRule: 'paper',
      ...withoutUndefined(options),
    });
  }

  /**
   * SkyPilot's implementation: cheapest placement, reset below 2 active locations.
   * Named `spothedge-skypilot`.
   *
   * @example
   * ```ts
   * const policy = SpotHedgePolicy.skypilot({ baseOnDemand: 1 });
   * ```
   */
  static skypilot(options: SpotHedgePolicyOptions = {}): SpotHedgePolicy {
    return new SpotHedgePolicy({
      name: 'spothedge-skypilot',
      placement: 'cheapest',
      resetRule: 'skypilot',
      ...withoutUndefined(options),
    });
  }

  /** The status of a location (unknown locations are active). */
  locationStatus(location: string): LocationStatus {
    return this.#preempted.has(location) ? 'preempted' : 'active';
  }

  /** Locations currently marked preempted, sorted. */
  get preemptedLocations(): readonly string[] {
    return [...this.#preempted].sort();
  }

  observe(event: PolicyEvent): void {
    switch (event.type) {
      case 'preemption':
        this.#preempted.add(event.location);
        return;
      case 'launch-failure':
        // Capacity (and quota) failures are facts about the location; `other` is not.
        if (event.reason === 'other') return;
        if (event.capacityType === 'spot') this.#preempted.add(event.location);
        else this.#onDemandFailed.add(event.location);
        return;
      case 'launch-success':
        if (event.capacityType === 'spot') this.#preempted.delete(event.location);
        else this.#onDemandFailed.delete(event.location);
        return;
      case 'replica-ready':
      case 'interruption-notice':
        return;
    }
  }

  plan(view: FleetView): Plan {
    const summary = summarizeFleet(view);
    const reset = this.#applyResetRule(summary.spotLocations);
    const target = Math.max(0, Math.ceil(view.target));
    const maxReplicas = Math.max(0, Math.floor(view.maxReplicas));
    const base = Math.min(this.baseOnDemand, target);
    const spotTarget = target > 0 ? target - base + this.overprovision : 0;
    const onDemandTarget = this.dynamicFallback
      ? dynamicFallback({ target, base, spotTarget, readySpot: summary.readySpot })
      : base;

    const actions: PlanAction[] = [];
    const terminated = new Set<string>();
    const terminate = (replica: ReplicaView, reason: string): void => {
      terminated.add(replica.id);
      actions.push({ type: 'terminate', replicaId: replica.id, reason });
    };
    const badLocation = (replica: ReplicaView): boolean =>
      this.#preempted.has(replica.location) || !summary.locationsById.has(replica.location);

    // 1. Too many spot replicas: drop not-ready ones and those in preempted locations first.
    let aliveSpot = summary.aliveSpot.length;
    if (aliveSpot > spotTarget) {
      const excess = aliveSpot - spotTarget;
      for (const replica of chooseTerminations(summary.aliveSpot, excess, (candidate) =>
        spotRank(candidate, badLocation(candidate)),
      )) {
        terminate(replica, `spot scale-down: ${aliveSpot} alive > ${spotTarget} wanted`);
      }
      aliveSpot -= excess;
    }

    // 2. Too many on-demand replicas: only reached once enough spot is *ready*.
    let aliveOnDemand = summary.aliveOnDemand.length;
    if (aliveOnDemand > onDemandTarget) {
      const excess = aliveOnDemand - onDemandTarget;
      const why = this.dynamicFallback
        ? `${summary.readySpot}/${spotTarget} spot ready, on-demand needed ${onDemandTarget}`
        : `fixed base ${base}`;
      for (const replica of chooseTerminations(summary.aliveOnDemand, excess, (candidate) =>
        onDemandRank(candidate, summary.locationsById.has(candidate.location)),
      )) {
        terminate(replica, `on-demand release: ${aliveOnDemand} alive > ${onDemandTarget}; ${why}`);
      }
      aliveOnDemand -= excess;
    }

    // 3. Above the hard cap (e.g. max lowered): drop more, least useful first.
    let alive = aliveSpot + aliveOnDemand;
    if (alive > maxReplicas) {
      const remaining = [...summary.aliveSpot, ...summary.aliveOnDemand].filter(
        (replica) => !terminated.has(replica.id),
      );
      for (const replica of chooseTerminations(remaining, alive - maxReplicas, (candidate) =>
        capRank(candidate, badLocation(candidate)),
      )) {
        terminate(replica, `over maxReplicas: ${alive} alive > ${maxReplicas}`);
        if (replica.capacityType === 'spot') aliveSpot--;
        else aliveOnDemand--;
      }
      alive = aliveSpot + aliveOnDemand;
    }

    // 4. Launches within the budget: base on-demand, then spot, then fallback on-demand.
    let budget = maxReplicas - alive;
    const onDemandDeficit = Math.max(0, onDemandTarget - aliveOnDemand);
    const baseDeficit = Math.min(onDemandDeficit, Math.max(0, base - aliveOnDemand));
    const onDemandLocation = cheapestLocation(
      summary.onDemandLocations,
      'on-demand',
      this.#onDemandFailed,
    );
    if (onDemandLocation !== undefined) {
      const count = Math.min(budget, baseDeficit);
      for (let index = 0; index < count; index++) {
        actions.push({
          type: 'launch',
          location: onDemandLocation.id,
          capacityType: 'on-demand',
          reason: `on-demand base: ${aliveOnDemand + index + 1}/${base} base replicas`,
        });
      }
      budget -= count;
      aliveOnDemand += count;
    }

    const spotDeficit = Math.max(0, spotTarget - aliveSpot);
    if (spotDeficit > 0 && budget > 0 && summary.spotLocations.length > 0) {
      const launches = this.#placeSpot(summary, Math.min(budget, spotDeficit), {
        aliveSpot,
        spotTarget,
        target,
        base,
        reset,
      });
      actions.push(...launches);
      budget -= launches.length;
    }

    if (onDemandLocation !== undefined) {
      const count = Math.min(budget, onDemandDeficit - baseDeficit);
      for (let index = 0; index < count; index++) {
        actions.push({
          type: 'launch',
          location: onDemandLocation.id,
          capacityType: 'on-demand',
          reason:
            `on-demand fallback: ${summary.readySpot}/${spotTarget} spot ready, ` +
            `on-demand ${aliveOnDemand + index + 1}/${onDemandTarget} ` +
            `(base ${base} + missing spot, capped at target ${target})`,
        });
      }
    }
    return { actions };
  }

  snapshot(): JsonValue {
    return {
      kind: SNAPSHOT_KIND,
      version: 1,
      preempted: [...this.#preempted].sort(),
      onDemandFailed: [...this.#onDemandFailed].sort(),
      random: this.#random.state,
    };
  }

  restore(state: JsonValue): void {
    const record = snapshotRecord(state, SNAPSHOT_KIND);
    const preempted = snapshotStrings(record, 'preempted');
    const onDemandFailed = snapshotStrings(record, 'onDemandFailed');
    const random = snapshotInteger(record, 'random');
    this.#preempted.clear();
    for (const location of preempted) this.#preempted.add(location);
    this.#onDemandFailed.clear();
    for (const location of onDemandFailed) this.#onDemandFailed.add(location);
    this.#random.state = random;
  }

  /** Resets every location to active when too few are; returns whether it did. */
  #applyResetRule(spotLocations: readonly LocationView[]): boolean {
    if (this.#preempted.size === 0 || spotLocations.length === 0) return false;
    let active = 0;
    for (const location of spotLocations) if (!this.#preempted.has(location.id)) active++;
    const tooFew =
      this.resetRule === 'paper' ? active <= Math.min(1, spotLocations.length - 3) : active < 2;
    if (tooFew) this.#preempted.clear();
    return tooFew;
  }

  /** Chooses locations for `count` new spot replicas; O(locations + count). */
  #placeSpot(
    summary: FleetSummary,
    count: number,
    context: {
      readonly aliveSpot: number;
      readonly spotTarget: number;
      readonly target: number;
      readonly base: number;
      readonly reset: boolean;
    },
  ): LaunchAction[] {
    let active = summary.spotLocations.filter((location) => !this.#preempted.has(location.id));
    // Only reachable when the paper's rule declines to reset (fewer than 3 locations):
    // rather than launching nothing, try every location.
    const noneActive = active.length === 0;
    if (noneActive) active = [...summary.spotLocations];
    const empty = active.filter(
      (location) => (summary.spotCountByLocation.get(location.id) ?? 0) === 0,
    );
    if (this.placement === 'cheapest') {
      // Stable sort: equal prices keep view order.
      empty.sort((a, b) => a.spotPrice! - b.spotPrice!);
    }
    const cheapestActive = cheapestLocation(active, 'spot')!;
    const note =
      (context.reset ? '; too few active locations, all reset to active' : '') +
      (noneActive ? '; no active location, trying all' : '');
    const launches: LaunchAction[] = [];
    let emptyCursor = 0;
    for (let index = 0; index < count; index++) {
      let location: LocationView;
      let why: string;
      if (this.placement === 'cheapest') {
        if (emptyCursor < empty.length) {
          location = empty[emptyCursor++]!;
          why = 'cheapest active location without a spot replica';
        } else {
          location = cheapestActive;
          why = 'every active location holds a spot replica; cheapest active';
        }
      } else if (empty.length > 0) {
        const picked = this.#random.nextInt(empty.length);
        location = empty[picked]!;
        empty[picked] = empty[empty.length - 1]!;
        empty.pop();
        why = 'random active location without a spot replica';
      } else {
        location = this.#random.pick(active);
        why = 'every active location holds a spot replica; random active';
      }
      launches.push({
        type: 'launch',
        location: location.id,
        capacityType: 'spot',
        reason:
          `spot ${context.aliveSpot + index + 1}/${context.spotTarget} ` +
          `(target ${context.target} - base ${context.base} + overprovision ${this.overprovision}): ` +
          `${why}${note}`,
      });
    }
    return launches;
  }
}

/** 0 = terminate first. Not ready before ready; preempted/unknown locations first. */
function spotRank(replica: ReplicaView, badLocation: boolean): number {
  return (isReady(replica) ? 2 : 0) + (badLocation ? 0 : 1);
}

function onDemandRank(replica: ReplicaView, knownLocation: boolean): number {
  return (isReady(replica) ? 2 : 0) + (knownLocation ? 1 : 0);
}

function capRank(replica: ReplicaView, badLocation: boolean): number {
  if (replica.capacityType === 'spot') return spotRank(replica, badLocation) * 2;
  return (isReady(replica) ? 2 : 0) * 2 + 1;
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
