/**
 * Adaptive SpotHedge: the SpotHedge idea (spread spot over failure domains, keep extra
 * spot, fall back to on-demand) with the location state made continuous and the hedging
 * rules made options, so their trade-offs can be measured in the simulator
 * (docs/evaluation.md has the numbers; with the defaults it ties the paper's policy on the
 * shared traces — it does not beat it yet):
 *
 * - **Decayed risk instead of a binary set.** Each location carries a preemption score
 *   that decays with a half-life; a capacity failure puts a location on a cooldown. A new
 *   spot replica goes to the usable location with the fewest of our spot replicas, then
 *   the lowest score, then the fewest in its region, then the lowest price.
 * - **On-demand fallback** as the paper (cover every missing spot replica, the extra
 *   included), with options: count warming spot replicas as coming
 *   (`countStartingSpot`), cover the extra only while at risk (`hedgeOnlyAtRisk`), keep
 *   on-demand against the loss of the busiest location (`zoneHedge`), keep more spot while
 *   at risk (`riskOverprovision`).
 * - **Rebalance** (`rebalance`): while replicas crowd into one location, probe an empty
 *   one with one more spot replica and release the crowded surplus once it is ready.
 */
import { SeededRandom } from '../random.js';
import {
  cheapestLocation,
  chooseTerminations,
  isReady,
  priceOf,
  summarizeFleet,
} from './fleet-summary.js';
import {
  nameOption,
  nonNegativeIntegerOption,
  numberInRangeOption,
  snapshotRecord,
} from './policy-options.js';
import type {
  FleetView,
  JsonValue,
  LocationView,
  Plan,
  PlanAction,
  Policy,
  PolicyEvent,
  ReplicaView,
} from './types.js';
import { InvalidArgumentError, describeValue } from '../errors.js';

/** Options of {@link AdaptiveSpotHedgePolicy}. */
export interface AdaptiveSpotHedgePolicyOptions {
  /** @default 'spothedge' */
  readonly name?: string | undefined;
  /**
   * N_extra: spot replicas kept beyond the target.
   * @default 1
   */
  readonly overprovision?: number | undefined;
  /**
   * On-demand replicas always kept (never more than the target).
   * @default 0
   */
  readonly baseOnDemand?: number | undefined;
  /**
   * Half-life of a location's preemption score.
   * @default 3_600_000 (1 hour)
   */
  readonly riskHalfLifeMs?: number | undefined;
  /**
   * Fleet risk (sum of decayed preemption scores) above which missing extra spot replicas
   * are covered by on-demand, as in the paper.
   * @default 0.5
   */
  readonly hedgeRiskThreshold?: number | undefined;
  /**
   * How long a location is skipped after a spot launch there failed for capacity.
   * @default 300_000 (5 minutes)
   */
  readonly failureCooldownMs?: number | undefined;
  /**
   * Launch one more spot replica to move out of a crowded location when a usable location
   * holds none.
   * @default true
   */
  readonly rebalance?: boolean | undefined;
  /**
   * How often an empty location whose spot launch failed is probed again while rebalancing.
   * @default 60_000
   */
  readonly probeIntervalMs?: number | undefined;
  /** Extra spot replicas kept while the fleet is at risk. @default 0 */
  readonly riskOverprovision?: number | undefined;
  /** Count warming spot replicas toward the on-demand need (cheaper, less available on the shared traces). @default false */
  readonly countStartingSpot?: boolean | undefined;
  /** Cover missing *extra* spot with on-demand only while at risk. @default false */
  readonly hedgeOnlyAtRisk?: boolean | undefined;
  /**
   * On-demand replicas kept so that losing the location with the most ready spot replicas
   * leaves the target ready — only when that many suffice (more would cost more than the
   * outage it prevents). On the shared traces 1 buys availability for cost.
   * @default 0
   */
  readonly zoneHedge?: number | undefined;
  /** Seed (ties are broken at random among equally good locations). @default 0 */
  readonly seed?: number | undefined;
}

const SNAPSHOT_KIND = 'adaptive-spothedge';

interface Score {
  value: number;
  at: number;
}

/**
 * @example
 * ```ts
 * const policy = new AdaptiveSpotHedgePolicy({ overprovision: 1 });
 * const plan = policy.plan(view);
 * ```
 */
export class AdaptiveSpotHedgePolicy implements Policy {
  readonly name: string;
  readonly overprovision: number;
  readonly baseOnDemand: number;
  readonly riskHalfLifeMs: number;
  readonly hedgeRiskThreshold: number;
  readonly failureCooldownMs: number;
  readonly rebalance: boolean;
  readonly probeIntervalMs: number;
  readonly riskOverprovision: number;
  readonly countStartingSpot: boolean;
  readonly hedgeOnlyAtRisk: boolean;
  readonly zoneHedge: number;
  readonly #random: SeededRandom;
  readonly #scores = new Map<string, Score>();
  readonly #failedAt = new Map<string, number>();
  readonly #onDemandFailed = new Set<string>();

  constructor(options: AdaptiveSpotHedgePolicyOptions = {}) {
    this.name = nameOption('options.name', options.name, 'spothedge');
    this.overprovision = nonNegativeIntegerOption(
      'options.overprovision',
      options.overprovision,
      1,
    );
    this.baseOnDemand = nonNegativeIntegerOption('options.baseOnDemand', options.baseOnDemand, 0);
    this.riskHalfLifeMs = numberInRangeOption(
      'options.riskHalfLifeMs',
      options.riskHalfLifeMs,
      { min: 1, max: Number.MAX_SAFE_INTEGER },
      3_600_000,
    );
    this.hedgeRiskThreshold = numberInRangeOption(
      'options.hedgeRiskThreshold',
      options.hedgeRiskThreshold,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      0.5,
    );
    this.failureCooldownMs = numberInRangeOption(
      'options.failureCooldownMs',
      options.failureCooldownMs,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      300_000,
    );
    if (options.rebalance !== undefined && typeof options.rebalance !== 'boolean') {
      throw new InvalidArgumentError(
        `Expected \`options.rebalance\` to be a boolean, got ${describeValue(options.rebalance)}`,
        { argument: 'options.rebalance', value: options.rebalance },
      );
    }
    this.rebalance = options.rebalance ?? false;
    this.riskOverprovision = nonNegativeIntegerOption(
      'options.riskOverprovision',
      options.riskOverprovision,
      0,
    );
    this.countStartingSpot = options.countStartingSpot ?? false;
    this.hedgeOnlyAtRisk = options.hedgeOnlyAtRisk ?? false;
    this.zoneHedge = nonNegativeIntegerOption('options.zoneHedge', options.zoneHedge, 0);
    this.probeIntervalMs = numberInRangeOption(
      'options.probeIntervalMs',
      options.probeIntervalMs,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      60_000,
    );
    this.#random = new SeededRandom(nonNegativeIntegerOption('options.seed', options.seed, 0));
  }

  /** A location's decayed preemption score at `now`. */
  risk(location: string, now: number): number {
    const score = this.#scores.get(location);
    if (score === undefined) return 0;
    return score.value * 0.5 ** (Math.max(0, now - score.at) / this.riskHalfLifeMs);
  }

  observe(event: PolicyEvent): void {
    switch (event.type) {
      case 'preemption':
      case 'interruption-notice': {
        const value = this.risk(event.location, event.at) + 1;
        this.#scores.set(event.location, { value, at: event.at });
        return;
      }
      case 'launch-failure':
        if (event.reason === 'other') return;
        if (event.capacityType === 'spot') this.#failedAt.set(event.location, event.at);
        else this.#onDemandFailed.add(event.location);
        return;
      case 'launch-success':
        if (event.capacityType === 'spot') this.#failedAt.delete(event.location);
        else this.#onDemandFailed.delete(event.location);
        return;
      case 'replica-ready':
        return;
    }
  }

  plan(view: FleetView): Plan {
    const now = view.now;
    const summary = summarizeFleet(view);
    const target = Math.max(0, Math.ceil(view.target));
    const maxReplicas = Math.max(0, Math.floor(view.maxReplicas));
    const base = Math.min(this.baseOnDemand, target);
    let fleetRisk = 0;
    for (const location of summary.spotLocations) fleetRisk += this.risk(location.id, now);
    const atRisk = fleetRisk > this.hedgeRiskThreshold;
    const spotTarget =
      target > 0 ? target - base + this.overprovision + (atRisk ? this.riskOverprovision : 0) : 0;
    // Spot replicas that launched and are warming up arrive as soon as an on-demand one
    // launched now would: they count toward the need, unless told otherwise.
    const startingSpot = this.countStartingSpot ? summary.aliveSpot.length - summary.readySpot : 0;
    const spotNeeded = atRisk || !this.hedgeOnlyAtRisk ? spotTarget : target - base;
    // Zone-loss hedge: if the location holding most ready spot replicas went dark now, the
    // rest (plus on-demand) must still reach the target; up to `zoneHedge` on-demand
    // replicas are kept for that.
    const readyByLocation = new Map<string, number>();
    for (const replica of summary.aliveSpot) {
      if (isReady(replica))
        readyByLocation.set(replica.location, (readyByLocation.get(replica.location) ?? 0) + 1);
    }
    const largestReadyGroup = Math.max(0, ...readyByLocation.values());
    const zoneLossDeficit = Math.max(0, target - base - (summary.readySpot - largestReadyGroup));
    const zoneHedge = zoneLossDeficit <= this.zoneHedge ? zoneLossDeficit : 0;
    const onDemandTarget = Math.min(
      target,
      base + Math.max(0, spotNeeded - summary.readySpot - startingSpot, zoneHedge),
    );

    const usable = summary.spotLocations.filter(
      (location) =>
        now - (this.#failedAt.get(location.id) ?? Number.NEGATIVE_INFINITY) >=
        this.failureCooldownMs,
    );
    const counts = new Map(summary.spotCountByLocation);
    const regionOf = (id: string) => summary.locationsById.get(id)?.region ?? id;
    const regionCounts = new Map<string, number>();
    for (const replica of summary.aliveSpot) {
      const region = regionOf(replica.location);
      regionCounts.set(region, (regionCounts.get(region) ?? 0) + 1);
    }

    const actions: PlanAction[] = [];
    const terminated = new Set<string>();
    const terminate = (replica: ReplicaView, reason: string): void => {
      terminated.add(replica.id);
      actions.push({ type: 'terminate', replicaId: replica.id, reason });
      if (replica.capacityType === 'spot') {
        counts.set(replica.location, (counts.get(replica.location) ?? 1) - 1);
        const region = regionOf(replica.location);
        regionCounts.set(region, (regionCounts.get(region) ?? 1) - 1);
      }
    };

    // Rebalancing: while replicas crowd into a location (two or more there) and the fleet
    // has no spot deficit, probe one empty location with one more spot replica (a failed
    // probe costs nothing; a location is probed again after `probeIntervalMs`). Once the
    // probe is ready, a replica of the crowded location is released (step 1) — so the
    // fleet spreads out again as soon as capacity returns, instead of waiting for the next
    // preemption.
    const counted = (id: string) => counts.get(id) ?? 0;
    const crowded = [...counts.values()].some((count) => count >= 2);
    const warmingAlone = summary.aliveSpot.some(
      (replica) => !isReady(replica) && counted(replica.location) === 1,
    );
    const probeCandidates = summary.spotLocations.filter(
      (location) =>
        counted(location.id) === 0 &&
        now - (this.#failedAt.get(location.id) ?? Number.NEGATIVE_INFINITY) >= this.probeIntervalMs,
    );
    const rebalancing =
      this.rebalance &&
      spotTarget > 0 &&
      crowded &&
      summary.aliveSpot.length >= spotTarget &&
      (warmingAlone || probeCandidates.length > 0);
    const spotWanted = spotTarget + (rebalancing ? 1 : 0);

    // 1. Too many spot replicas: not-ready ones in crowded locations first, then ready ones
    // in crowded (riskier first), then lone warming ones, then lone ready ones.
    let aliveSpot = summary.aliveSpot.length;
    if (aliveSpot > spotWanted) {
      const excess = aliveSpot - spotWanted;
      for (const replica of chooseTerminations(summary.aliveSpot, excess, (candidate) => {
        const alone = counted(candidate.location) <= 1;
        const risk = Math.min(9, this.risk(candidate.location, now));
        if (!alone) return isReady(candidate) ? 10 - risk : 0;
        return isReady(candidate) ? 100 - risk : 50;
      })) {
        terminate(replica, `spot scale-down: ${aliveSpot} alive > ${spotWanted} wanted`);
      }
      aliveSpot -= excess;
    }

    // 2. Too many on-demand replicas (only once enough spot is ready).
    let aliveOnDemand = summary.aliveOnDemand.length;
    if (aliveOnDemand > onDemandTarget) {
      const excess = aliveOnDemand - onDemandTarget;
      for (const replica of chooseTerminations(summary.aliveOnDemand, excess, (candidate) =>
        isReady(candidate) ? 1 : 0,
      )) {
        terminate(
          replica,
          `on-demand release: ${summary.readySpot} spot ready, on-demand needed ${onDemandTarget}`,
        );
      }
      aliveOnDemand -= excess;
    }

    // 3. Hard cap.
    let alive = aliveSpot + aliveOnDemand;
    if (alive > maxReplicas) {
      const remaining = [...summary.aliveSpot, ...summary.aliveOnDemand].filter(
        (replica) => !terminated.has(replica.id),
      );
      for (const replica of chooseTerminations(
        remaining,
        alive - maxReplicas,
        (candidate) =>
          (isReady(candidate) ? 2 : 0) + (candidate.capacityType === 'on-demand' ? 1 : 0),
      )) {
        terminate(replica, `over maxReplicas: ${alive} alive > ${maxReplicas}`);
        if (replica.capacityType === 'spot') aliveSpot--;
        else aliveOnDemand--;
      }
      alive = aliveSpot + aliveOnDemand;
    }

    // 4. Launches: base on-demand, spot, fallback on-demand.
    let budget = maxReplicas - alive;
    const onDemandLocation = cheapestLocation(
      summary.onDemandLocations,
      'on-demand',
      this.#onDemandFailed,
    );
    const onDemandDeficit = Math.max(0, onDemandTarget - aliveOnDemand);
    const spotDeficit = Math.max(0, spotWanted - aliveSpot);
    if (spotDeficit > 0 && budget > 0 && summary.spotLocations.length > 0) {
      const candidates = usable.length > 0 ? usable : summary.spotLocations;
      const probe = rebalancing && aliveSpot >= spotTarget && probeCandidates.length > 0;
      for (let index = 0; index < Math.min(budget, spotDeficit); index++) {
        const location = this.#pick(
          probe ? probeCandidates : candidates,
          counts,
          regionCounts,
          regionOf,
          now,
        );
        counts.set(location.id, (counts.get(location.id) ?? 0) + 1);
        const region = regionOf(location.id);
        regionCounts.set(region, (regionCounts.get(region) ?? 0) + 1);
        actions.push({
          type: 'launch',
          location: location.id,
          capacityType: 'spot',
          reason:
            `spot ${aliveSpot + index + 1}/${spotWanted}` +
            (rebalancing ? ' (rebalancing out of a crowded location)' : '') +
            `: fewest replicas, then region, risk ${this.risk(location.id, now).toFixed(2)}, price`,
        });
      }
      budget -= Math.min(budget, spotDeficit);
    }
    if (onDemandLocation !== undefined) {
      const count = Math.min(budget, onDemandDeficit);
      for (let index = 0; index < count; index++) {
        actions.push({
          type: 'launch',
          location: onDemandLocation.id,
          capacityType: 'on-demand',
          reason:
            `on-demand: ${summary.readySpot} spot ready of ${spotNeeded} needed` +
            (atRisk ? ` (fleet at risk ${fleetRisk.toFixed(2)}: extra spot hedged)` : '') +
            `, on-demand ${aliveOnDemand + index + 1}/${onDemandTarget}`,
        });
      }
    }
    return { actions };
  }

  #pick(
    candidates: readonly LocationView[],
    counts: ReadonlyMap<string, number>,
    regionCounts: ReadonlyMap<string, number>,
    regionOf: (id: string) => string,
    now: number,
  ): LocationView {
    let best: LocationView[] = [];
    let bestKey: number[] = [];
    for (const location of candidates) {
      const key = [
        counts.get(location.id) ?? 0,
        Math.round(this.risk(location.id, now) * 10),
        regionCounts.get(regionOf(location.id)) ?? 0,
        priceOf(location, 'spot'),
      ];
      const order = compare(key, bestKey);
      if (best.length === 0 || order < 0) {
        best = [location];
        bestKey = key;
      } else if (order === 0) best.push(location);
    }
    return best.length === 1 ? best[0]! : this.#random.pick(best);
  }

  snapshot(): JsonValue {
    return {
      kind: SNAPSHOT_KIND,
      version: 1,
      scores: Object.fromEntries(
        [...this.#scores].map(([location, score]) => [location, [score.value, score.at]]),
      ),
      failedAt: Object.fromEntries(this.#failedAt),
      onDemandFailed: [...this.#onDemandFailed].sort(),
      random: this.#random.state,
    };
  }

  restore(state: JsonValue): void {
    const record = snapshotRecord(state, SNAPSHOT_KIND);
    const scores = record['scores'];
    const failedAt = record['failedAt'];
    const onDemandFailed = record['onDemandFailed'];
    const random = record['random'];
    if (
      typeof scores !== 'object' ||
      scores === null ||
      Array.isArray(scores) ||
      typeof failedAt !== 'object' ||
      failedAt === null ||
      Array.isArray(failedAt) ||
      !Array.isArray(onDemandFailed) ||
      typeof random !== 'number'
    ) {
      throw new InvalidArgumentError(
        `Expected \`state\` to be an adaptive-spothedge snapshot, got ${describeValue(state)}`,
        { argument: 'state', value: state },
      );
    }
    this.#scores.clear();
    for (const [location, pair] of Object.entries(scores as Record<string, JsonValue>)) {
      if (Array.isArray(pair) && typeof pair[0] === 'number' && typeof pair[1] === 'number') {
        this.#scores.set(location, { value: pair[0], at: pair[1] });
      }
    }
    this.#failedAt.clear();
    for (const [location, at] of Object.entries(failedAt as Record<string, JsonValue>)) {
      if (typeof at === 'number') this.#failedAt.set(location, at);
    }
    this.#onDemandFailed.clear();
    for (const location of onDemandFailed)
      if (typeof location === 'string') this.#onDemandFailed.add(location);
    this.#random.state = random;
  }
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < a.length; index++) {
    const difference = a[index]! - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
