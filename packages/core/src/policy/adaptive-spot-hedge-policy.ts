/**
 * Adaptive SpotHedge, the SDK's default policy: the SpotHedge idea (spread spot over
 * failure domains, keep extra spot, fall back to on-demand) with the on-demand hedge sized
 * by recent preemptions instead of a constant. On the shared traces it dominates the
 * paper's policy (availability at least as high, cost no higher) with the same defaults
 * everywhere; docs/evaluation.md has the numbers and the analysis behind each rule.
 */
import { SeededRandom } from '../random.js';
import {
  cheapestLocation,
  chooseTerminations,
  dynamicFallback,
  isReady,
  type FleetSummary,
  priceOf,
  summarizeFleet,
} from './fleet-summary.js';
import {
  booleanOption,
  isJsonRecord,
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
   * Half-life of a location's preemption score (each preempted replica adds 1).
   * @default 600_000 (10 minutes)
   */
  readonly riskHalfLifeMs?: number | undefined;
  /**
   * Score above which a location is *hot*: it preempted us recently, so it may take more
   * of our replicas soon. A hot location gets no new spot replica while another will do,
   * and on-demand covers up to `ceil(score)` of its ready spot replicas (all of them or none
   * where its last loss took every replica we held there). The default makes a
   * location hot once it took more than one replica within about a half-life: after a
   * single preemption the fleet's margin (`marginRisk`) covers the next one, and a
   * replacement warming in a calm location stands in for it.
   * @default 1
   */
  readonly hotRisk?: number | undefined;
  /**
   * Fleet score (the sum over locations) above which on-demand also keeps one replica of
   * margin above the target while spot cannot (the paper keeps that margin always). A spot
   * replica already warming in a location that is not hot stands in for this replica: an
   * on-demand replica launched now would be ready no sooner.
   * @default 0.5
   */
  readonly marginRisk?: number | undefined;
  /**
   * Also keep that one replica of margin, however calm the fleet, while spot is *short*
   * (fewer spot replicas alive than `target − base + overprovision`: the extra replica
   * cannot be placed, every location is full) and our ready spot replicas sit in two or
   * more locations: each of them is at its capacity, so a dip in any one takes a replica,
   * and one on-demand replica covers that. The paper keeps this margin whenever spot is
   * short; when all our ready spot sits in the one location that still has capacity, its
   * drops are covered by the hot-location cover after the first one, and the margin was
   * measured to buy nothing there on aws1, so it is kept there only when that location holds
   * a single ready replica (the margin then covers its loss whole) or once savings pay for
   * it (`savingsReserveMs`). A spot replica warming in a location that is not hot stands in,
   * as for `marginRisk`.
   * @default true
   */
  readonly marginWhileSpotShort?: boolean | undefined;
  /**
   * Savings that buy the paper's margin where this policy otherwise saves it: while spot is
   * short with all ready spot in *one* location, one on-demand replica of margin is kept
   * once the on-demand time saved so far exceeds this reserve (in replica·milliseconds). The
   * saving is counted against the paper's rule applied to this fleet: every moment this
   * policy holds fewer on-demand replicas than `target + overprovision − ready spot` (capped
   * at the target), it adds; every moment it holds more (a hot location's cover, the margin
   * after recent preemptions), it subtracts. So the margin is bought where spot stays short
   * for long (large targets, two-location layouts), with money the calm margin saved there,
   * and not where the saving is thin. Ignored when `marginWhileSpotShort` is off.
   * @default 3_600_000 (one on-demand replica for an hour)
   */
  readonly savingsReserveMs?: number | undefined;
  /**
   * How long a location is passed over for new spot replicas after a spot launch there
   * failed for capacity (it is tried again after that; a failed launch costs nothing, and a
   * launch there that succeeds ends it at once). Among equally filled locations, the one
   * whose last failure or preemption is oldest is preferred.
   * @default 300_000 (5 minutes)
   */
  readonly failureCooldownMs?: number | undefined;
  /**
   * How long a location is passed over for new spot replicas after it preempted one of
   * ours: longer than after a failed launch, because a replica placed there again is paid
   * for and may be taken again before it is ever ready (locations that flap between having
   * capacity and none). It runs its course even if a launch there succeeds meanwhile (which
   * happens only when every location is cooling down). The default is one
   * `riskHalfLifeMs`, as long as a single preemption keeps a location hot.
   * @default 600_000 (10 minutes)
   */
  readonly preemptionCooldownMs?: number | undefined;
  /**
   * Restore the spread when it can be done safely: if the most crowded location holds one
   * replica more than `overprovision` (losing it would take us below the target) while a
   * location that could hold one within the spare sits empty, launch one spot replica there;
   * once it is ready, the surplus replica of the crowded location is released (spot
   * scale-down takes the most crowded location first). Only when every spot replica is ready,
   * the fleet is calm (score at most `marginRisk`), the destination is neither cooling down nor
   * hot, and it has preempted us no more often than the crowded location: spreading helps
   * against locations that fail alike, not by moving a replica out of a location that has
   * held it into one that keeps taking ours. Without it, a double formed while a location was
   * out stays for hours after that location is back (few-zone layouts lost to the paper's
   * random placement that way). Costs one spot replica for a cold start per repair.
   * @default true
   */
  readonly spreadRepair?: boolean | undefined;
  /**
   * Where new spot replicas go once every usable location holds `overprovision` of ours:
   * to the location that already holds the most (`true`), or the fewest (`false`). Losing a
   * location that holds more than `overprovision` takes the fleet below the target, so
   * concentrating the surplus leaves one such location instead of several: two zones hold
   * 3 + 1 rather than 2 + 2, and only one of them can take us below the target. The price is
   * depth: that location's loss takes more replicas at once (with a target of 10 on three
   * zones, 9 + 1 + 1 against 4 + 4 + 3). Both lose as many replicas below the target on
   * average; concentrating loses them in fewer, deeper episodes, which is what the paper's
   * availability (share of time with the target ready) rewards. Turn it off where a shallow
   * shortfall is better than a rare deep one.
   * @default true
   */
  readonly concentrateSurplus?: boolean | undefined;
  /** Seed (ties are broken at random among equally good locations). @default 0 */
  readonly seed?: number | undefined;
}

const SNAPSHOT_KIND = 'adaptive-spothedge';

interface Score {
  value: number;
  at: number;
}

/** On-demand replica·ms saved against the paper's rule: `value` at `at`, changing by `rate`. */
interface Savings {
  value: number;
  at: number;
  /** Replicas the paper's rule holds beyond ours since `at` (negative: we hold more). */
  rate: number;
}

/**
 * The default policy of the SDK (`spothedge` in the simulator). Like SpotHedge it keeps
 * `target − base + overprovision` spot replicas spread over locations and launches
 * on-demand for spot that is not ready, releasing it only as spot becomes *ready*. It
 * differs where the paper's policy loses availability or money on the real traces
 * (docs/evaluation.md has the analysis and the numbers):
 *
 * - **The hedge follows the risk, not a constant.** The paper keeps one replica of margin
 *   above the target at all times, which buys nothing in the common case (three spot
 *   replicas ready in calm locations) and too little in the bad one: a location that just
 *   took some of our replicas often takes the rest minutes later. Here on-demand keeps the
 *   ready count at `target + margin`, where the margin is the number of our ready spot
 *   replicas a *hot* location (decayed preemption score above `hotRisk`) may take — up to
 *   `ceil(score)`, so the cover shrinks as the score decays — or one replica while the
 *   fleet as a whole saw preemptions recently (`marginRisk`), or none when all is calm. The
 *   target itself is always covered by on-demand until spot is *ready*, as in the paper.
 * - **A cover that cannot help is not bought.** Where a location's last loss took every
 *   replica we held there (two or more at once: a zone that empties, as single-node and
 *   0-or-16 traces do), the next one likely does too, and covering some of its replicas
 *   would not keep the target through it: such a location is covered wholly or not at all.
 *   A later loss there that leaves some of ours in place brings the partial cover back.
 * - **The paper's margin where it helps: spot short over several locations.** When the
 *   extra spot replica cannot be placed (every location full) and our ready spot sits in
 *   two or more locations, each of those is at its capacity and a dip in any one takes a
 *   replica: one replica of margin is kept however calm the fleet (`marginWhileSpotShort`).
 *   Without it, traces where spot stays short for hours (one region, small capacities,
 *   large targets) lost availability to the paper one preemption at a time; with all ready
 *   spot in a single location it bought nothing on aws1 and is kept only when that is a
 *   single replica (one replica of margin then covers the location's loss whole) or as the
 *   next rule says.
 * - **Savings buy the paper's margin where spot stays short.** With all ready spot in one
 *   location that margin is not kept by default (it bought nothing on aws1, where that
 *   location holds), but where spot stays short for long it is what the paper's availability
 *   comes from. So the on-demand time saved against the paper's rule, in this fleet, is
 *   counted, and once it exceeds `savingsReserveMs` the margin is bought there too. Covers
 *   beyond the paper's rule are counted against the savings.
 * - **A replacement on its way stands in for the one-replica margin.** A spot replica
 *   warming in a location that is not hot will be ready no later than an on-demand replica
 *   launched now, so neither margin of one replica is bought while one is warming (never
 *   the target itself, nor a hot location's cover).
 * - **Few locations that can take us below the target.** Losing a location that holds at
 *   most `overprovision` of our spot replicas leaves the target standing; losing one that
 *   holds more does not. So new spot fills locations up to `overprovision` first and puts
 *   the rest where most of ours already are: on two zones 3 + 1 (losing the one with a
 *   single replica costs nothing) rather than 2 + 2 (losing either takes us below the
 *   target); on three, 2 + 1 + 1 (`concentrateSurplus`).
 * - **Decayed risk instead of a binary set.** Each preempted replica adds 1 to its
 *   location's score, halving every `riskHalfLifeMs`. A new spot replica goes to a location
 *   that is not hot, then by the fill rule above, then to the one that failed longest ago,
 *   then the lowest score, the fewest in its region, the lowest price. A location where a
 *   spot launch failed for capacity is passed over for `failureCooldownMs` (5 min), one
 *   that preempted us for `preemptionCooldownMs` (10 min: a replica placed there again is
 *   paid for and, in a location that flaps, taken again), then tried again (the paper
 *   keeps it out until a reset).
 * - **A double is undone once it can be, safely.** A location holding `overprovision + 1`
 *   of our replicas takes us below the target when it drops; when the fleet is calm, all
 *   spot is ready and an empty location is usable and has preempted us no more often, one
 *   spot replica is launched there and the crowded location's surplus released once it is
 *   ready (`spreadRepair`). Doubles form while a location is out and otherwise stay for
 *   hours after it is back.
 * - **Several locations per tick.** When several spot replicas are missing, each launch of
 *   the tick goes to a different location, so one full location does not stall the
 *   others.
 *
 * Pure and deterministic: time comes from `view.now` and `event.at`; the state (scores,
 * failure times, random generator) round-trips through `snapshot`/`restore`.
 *
 * @example
 * ```ts
 * const policy = new AdaptiveSpotHedgePolicy({ overprovision: 1 });
 * const plan = policy.plan(view);
 * policy.observe({ type: 'preemption', at: view.now, replicaId: 'r1', location: 'aws/us-east-1/us-east-1a' });
 * ```
 */
export class AdaptiveSpotHedgePolicy implements Policy {
  readonly name: string;
  readonly overprovision: number;
  readonly baseOnDemand: number;
  readonly riskHalfLifeMs: number;
  readonly hotRisk: number;
  readonly marginRisk: number;
  readonly marginWhileSpotShort: boolean;
  readonly savingsReserveMs: number;
  readonly failureCooldownMs: number;
  readonly preemptionCooldownMs: number;
  readonly spreadRepair: boolean;
  readonly concentrateSurplus: boolean;
  readonly #random: SeededRandom;
  readonly #scores = new Map<string, Score>();
  readonly #failedAt = new Map<string, number>();
  readonly #preemptedAt = new Map<string, number>();
  /** Preemptions (and interruption notices) seen per location since the start. */
  readonly #preemptions = new Map<string, number>();
  /** Preemptions seen per location since the last plan. */
  readonly #lostSincePlan = new Map<string, number>();
  /** Locations whose last loss of two or more of our replicas took all we held there. */
  readonly #lostWhole = new Set<string>();
  readonly #onDemandFailed = new Set<string>();
  #savings: Savings | undefined;

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
      600_000,
    );
    this.hotRisk = numberInRangeOption(
      'options.hotRisk',
      options.hotRisk,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      1,
    );
    this.marginRisk = numberInRangeOption(
      'options.marginRisk',
      options.marginRisk,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      0.5,
    );
    this.marginWhileSpotShort = booleanOption(
      'options.marginWhileSpotShort',
      options.marginWhileSpotShort,
      true,
    );
    this.savingsReserveMs = numberInRangeOption(
      'options.savingsReserveMs',
      options.savingsReserveMs,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      3_600_000,
    );
    this.failureCooldownMs = numberInRangeOption(
      'options.failureCooldownMs',
      options.failureCooldownMs,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      300_000,
    );
    this.preemptionCooldownMs = numberInRangeOption(
      'options.preemptionCooldownMs',
      options.preemptionCooldownMs,
      { min: 0, max: Number.MAX_SAFE_INTEGER },
      600_000,
    );
    this.spreadRepair = booleanOption('options.spreadRepair', options.spreadRepair, true);
    this.concentrateSurplus = booleanOption(
      'options.concentrateSurplus',
      options.concentrateSurplus,
      true,
    );
    this.#random = new SeededRandom(nonNegativeIntegerOption('options.seed', options.seed, 0));
  }

  /** A location's decayed preemption score at `now`. */
  risk(location: string, now: number): number {
    const score = this.#scores.get(location);
    if (score === undefined) return 0;
    return score.value * 0.5 ** (Math.max(0, now - score.at) / this.riskHalfLifeMs);
  }

  /**
   * On-demand time (replica·ms) saved so far against the paper's rule applied to this fleet
   * (see `savingsReserveMs`), as of `now`.
   */
  savings(now: number): number {
    const savings = this.#savings;
    if (savings === undefined) return 0;
    return savings.value + savings.rate * Math.max(0, now - savings.at);
  }

  /** Whether a location preempted us recently enough that its replicas count as exposed. */
  isHot(location: string, now: number): boolean {
    return this.risk(location, now) > this.hotRisk;
  }

  observe(event: PolicyEvent): void {
    switch (event.type) {
      case 'preemption':
      case 'interruption-notice': {
        const value = this.risk(event.location, event.at) + 1;
        this.#scores.set(event.location, { value, at: event.at });
        // Like a capacity failure (its capacity is now below what we held there), with a
        // cooldown of its own that a later successful launch does not end.
        this.#failedAt.set(event.location, event.at);
        this.#preemptedAt.set(event.location, event.at);
        this.#preemptions.set(event.location, (this.#preemptions.get(event.location) ?? 0) + 1);
        if (event.type === 'preemption') {
          this.#lostSincePlan.set(
            event.location,
            (this.#lostSincePlan.get(event.location) ?? 0) + 1,
          );
        }
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
    const spotTarget = target > 0 ? target - base + this.overprovision : 0;

    const counts = new Map(summary.spotCountByLocation);
    const counted = (id: string) => counts.get(id) ?? 0;
    const regionOf = (id: string) => summary.locationsById.get(id)?.region ?? id;
    const regionCounts = new Map<string, number>();
    for (const replica of summary.aliveSpot) {
      const region = regionOf(replica.location);
      regionCounts.set(region, (regionCounts.get(region) ?? 0) + 1);
    }

    // Did the preemptions since the last plan take all we held in their location?
    for (const [location, lost] of this.#lostSincePlan) {
      if (counted(location) > 0) this.#lostWhole.delete(location);
      else if (lost >= 2) this.#lostWhole.add(location);
    }
    this.#lostSincePlan.clear();

    const actions: PlanAction[] = [];
    const terminated = new Set<string>();
    const terminate = (replica: ReplicaView, reason: string): void => {
      terminated.add(replica.id);
      actions.push({ type: 'terminate', replicaId: replica.id, reason });
      if (replica.capacityType === 'spot') {
        counts.set(replica.location, counted(replica.location) - 1);
        const region = regionOf(replica.location);
        regionCounts.set(region, (regionCounts.get(region) ?? 1) - 1);
      }
    };

    // 1. Spot scale-down. Ready replicas beyond the spot target go first from the most
    // crowded, riskiest locations; at most one warming replica beyond the target is kept
    // (a launch that succeeded alongside a replacement will be ready as soon as it).
    let aliveSpot = summary.aliveSpot.length;
    let readySpot = summary.readySpot;
    if (readySpot > spotTarget) {
      const ready = summary.aliveSpot.filter(isReady);
      for (const replica of chooseTerminations(ready, readySpot - spotTarget, (candidate) =>
        crowdRank(counted(candidate.location), this.risk(candidate.location, now)),
      )) {
        terminate(replica, `spot scale-down: ${readySpot} ready > ${spotTarget} wanted`);
        aliveSpot--;
        readySpot--;
      }
    }
    if (aliveSpot > spotTarget + 1) {
      const warming = summary.aliveSpot.filter(
        (replica) => !isReady(replica) && !terminated.has(replica.id),
      );
      const excess = Math.min(warming.length, aliveSpot - spotTarget - 1);
      for (const replica of chooseTerminations(warming, excess, (candidate) =>
        crowdRank(counted(candidate.location), this.risk(candidate.location, now)),
      )) {
        terminate(replica, `spot scale-down: ${aliveSpot} alive > ${spotTarget} + 1 wanted`);
        aliveSpot--;
      }
    }

    // 2. On-demand need: keep `target + margin` ready, where margin is what a hot location
    // may take at once (up to `ceil(score)` of our ready replicas there), else one while the
    // fleet saw preemptions recently or spot is short with ready spot in several locations,
    // and no spot replica is warming in a calm location; else none.
    let exposure = 0;
    let exposedAt: string | undefined;
    let partialCoverDropped: string | undefined;
    let warmingCalm = 0;
    const readyByLocation = new Map<string, number>();
    for (const replica of summary.aliveSpot) {
      if (terminated.has(replica.id)) continue;
      if (isReady(replica)) {
        readyByLocation.set(replica.location, (readyByLocation.get(replica.location) ?? 0) + 1);
      } else if (!this.isHot(replica.location, now)) warmingCalm++;
    }
    for (const [location, ready] of readyByLocation) {
      const risk = this.risk(location, now);
      if (risk <= this.hotRisk) continue;
      // About as many as it took recently: the cover shrinks as the score decays.
      let exposed = Math.min(ready, Math.ceil(risk));
      // Where the last loss took all of ours at once, a cover short of all of them would not
      // keep the target through the next such loss: all or none.
      if (exposed < ready && this.#lostWhole.has(location)) {
        exposed = 0;
        partialCoverDropped = location;
      }
      if (exposed > exposure) {
        exposure = exposed;
        exposedAt = location;
      }
    }
    let fleetRisk = 0;
    for (const location of summary.spotLocations) fleetRisk += this.risk(location.id, now);
    // Spot short (the extra replica could not be placed) while our ready spot sits in several
    // locations, each as full as it gets: a dip in any one of them takes a replica, and one
    // on-demand replica of margin covers it (the paper's margin, kept where it helps).
    // With all of it in one location: when that is a single replica (the margin then covers
    // the location's loss whole), else only once savings pay for it (`savingsReserveMs`).
    const saved = this.savings(now);
    const spotShort =
      this.marginWhileSpotShort &&
      summary.aliveSpot.length < spotTarget &&
      (readyByLocation.size >= 2 ||
        (readyByLocation.size === 1 && (readySpot === 1 || saved >= this.savingsReserveMs)));
    // The fleet-wide replica of margin guards against a second loss before spot is back; a
    // spot replica already warming in a calm location is back no later than an on-demand
    // replica launched now would be, so it stands in (never for the target itself, nor for
    // a hot location's exposure).
    const marginReasons: string[] = [];
    if (fleetRisk > this.marginRisk) marginReasons.push('recent preemptions');
    if (spotShort) {
      marginReasons.push(
        readyByLocation.size >= 2
          ? `spot short, ready in ${readyByLocation.size} locations`
          : readySpot === 1
            ? 'spot short, 1 ready: the margin covers its loss'
            : `spot short, ready in 1 location, ${(saved / 3_600_000).toFixed(1)} on-demand hours saved`,
      );
    }
    const fleetMargin = marginReasons.length > 0 && warmingCalm === 0 ? 1 : 0;
    const margin = Math.max(exposure, fleetMargin);
    const onDemandTarget = Math.min(target, base + Math.max(0, target - base + margin - readySpot));
    if (marginReasons.length > 0 && warmingCalm > 0) {
      marginReasons.push(`${warmingCalm} spot warming in calm locations`);
    }
    const why =
      `${readySpot} spot ready, target ${target} + margin ${margin}` +
      (exposedAt !== undefined
        ? ` (${exposure} ready in ${exposedAt}, preempted recently: risk ${this.risk(exposedAt, now).toFixed(2)})`
        : marginReasons.length > 0
          ? ` (${marginReasons.join('; ')})`
          : '') +
      (partialCoverDropped !== undefined && exposedAt === undefined
        ? `; no partial cover for ${partialCoverDropped}, whose last loss took all of ours there`
        : '');

    // 3. Too many on-demand replicas (only once enough spot is ready).
    let aliveOnDemand = summary.aliveOnDemand.length;
    if (aliveOnDemand > onDemandTarget) {
      const excess = aliveOnDemand - onDemandTarget;
      for (const replica of chooseTerminations(summary.aliveOnDemand, excess, (candidate) =>
        isReady(candidate) ? 1 : 0,
      )) {
        terminate(replica, `on-demand release: ${why}; on-demand needed ${onDemandTarget}`);
      }
      aliveOnDemand -= excess;
    }

    // 4. Hard cap.
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

    // 5. Spot launches for missing spot replicas.
    let budget = maxReplicas - alive;
    const spotDeficit = Math.max(0, spotTarget - aliveSpot);
    if (spotDeficit > 0 && budget > 0 && summary.spotLocations.length > 0) {
      const usable = summary.spotLocations.filter(
        (location) => !this.#coolingDown(location.id, now),
      );
      const candidates = usable.length > 0 ? usable : summary.spotLocations;
      const count = Math.min(budget, spotDeficit);
      // One launch per location while there are locations left: if the best one is out of
      // capacity, the others are tried in the same tick instead of one after another.
      const tried = new Set<string>();
      for (let index = 0; index < count; index++) {
        const untried = candidates.filter((location) => !tried.has(location.id));
        const location = this.#pick(
          untried.length > 0 ? untried : candidates,
          counts,
          regionCounts,
          regionOf,
          now,
        );
        tried.add(location.id);
        counts.set(location.id, counted(location.id) + 1);
        const region = regionOf(location.id);
        regionCounts.set(region, (regionCounts.get(region) ?? 0) + 1);
        actions.push({
          type: 'launch',
          location: location.id,
          capacityType: 'spot',
          reason:
            `spot ${aliveSpot + index + 1}/${spotTarget} ` +
            `(target ${target} - base ${base} + overprovision ${this.overprovision}): ` +
            `filling locations up to ${this.overprovision}, then the ${this.concentrateSurplus ? 'fullest' : 'emptiest'}; ` +
            `then least recently failed, risk ${this.risk(location.id, now).toFixed(2)}, region, price`,
        });
      }
      budget -= count;
      aliveSpot += count;
    }

    // 6. Spread repair: one spot replica out of a location whose loss would take us below
    // the target, into an empty location with an equally good record (see `spreadRepair`).
    if (
      this.spreadRepair &&
      spotDeficit === 0 &&
      aliveSpot === spotTarget &&
      readySpot === spotTarget &&
      budget > 0 &&
      fleetRisk <= this.marginRisk
    ) {
      const repair = this.#spreadRepair(summary, counts, regionCounts, regionOf, now);
      if (repair !== undefined) {
        actions.push({
          type: 'launch',
          location: repair.to,
          capacityType: 'spot',
          reason:
            `spread repair: ${counted(repair.from)} ready in ${repair.from} > overprovision ` +
            `${this.overprovision}, ${repair.to} empty, calm and preempted us no more often`,
        });
        budget--;
        aliveSpot++;
      }
    }

    // 7. On-demand launches.
    const onDemandLocation = cheapestLocation(
      summary.onDemandLocations,
      'on-demand',
      this.#onDemandFailed,
    );
    if (onDemandLocation !== undefined) {
      const count = Math.min(budget, Math.max(0, onDemandTarget - aliveOnDemand));
      for (let index = 0; index < count; index++) {
        actions.push({
          type: 'launch',
          location: onDemandLocation.id,
          capacityType: 'on-demand',
          reason: `on-demand ${aliveOnDemand + index + 1}/${onDemandTarget}: ${why}`,
        });
      }
      aliveOnDemand += count;
    }

    // 8. Savings from now on: what the paper's rule would hold in this fleet, minus what we
    // hold. Stored only when that difference changes, so a calm fleet's state stays the same.
    const rate = dynamicFallback({ target, base, spotTarget, readySpot }) - aliveOnDemand;
    if (this.#savings === undefined || this.#savings.rate !== rate) {
      this.#savings = { value: saved, at: now, rate };
    }
    return { actions };
  }

  /** Whether a location is passed over after a failed launch or a preemption there. */
  #coolingDown(location: string, now: number): boolean {
    const since = (at: number | undefined) => now - (at ?? Number.NEGATIVE_INFINITY);
    return (
      since(this.#failedAt.get(location)) < this.failureCooldownMs ||
      since(this.#preemptedAt.get(location)) < this.preemptionCooldownMs
    );
  }

  /** The move `spreadRepair` makes now, if any (deterministic: no random draw). */
  #spreadRepair(
    summary: FleetSummary,
    counts: ReadonlyMap<string, number>,
    regionCounts: ReadonlyMap<string, number>,
    regionOf: (id: string) => string,
    now: number,
  ): { from: string; to: string } | undefined {
    const counted = (id: string) => counts.get(id) ?? 0;
    const inRegion = (id: string) => regionCounts.get(regionOf(id)) ?? 0;
    // The most crowded location holding ours (then the most crowded region).
    let from: string | undefined;
    for (const [location, count] of counts) {
      if (count <= 0) continue;
      if (
        from === undefined ||
        count > counted(from) ||
        (count === counted(from) && inRegion(location) > inRegion(from))
      ) {
        from = location;
      }
    }
    // The emptiest usable location (then the emptiest region).
    let to: string | undefined;
    for (const location of summary.spotLocations) {
      const id = location.id;
      if (this.#coolingDown(id, now) || this.isHot(id, now)) {
        continue;
      }
      if (
        to === undefined ||
        counted(id) < counted(to) ||
        (counted(id) === counted(to) && inRegion(id) < inRegion(to))
      ) {
        to = id;
      }
    }
    if (from === undefined || to === undefined) return undefined;
    const spare = this.overprovision;
    // Losing `from` now takes us below the target; after the move, losing either does not.
    const exposed = counted(from) === spare + 1 && counted(to) + 1 <= spare;
    const noWorse = (this.#preemptions.get(to) ?? 0) <= (this.#preemptions.get(from) ?? 0);
    return exposed && noWorse ? { from, to } : undefined;
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
      const failedAt = this.#failedAt.get(location.id);
      const held = counts.get(location.id) ?? 0;
      // Locations are filled evenly up to `overprovision` (losing one of them leaves the
      // target standing); beyond, to the fullest (`concentrateSurplus`) or evenly.
      const safe = held < this.overprovision || !this.concentrateSurplus;
      const key = [
        // A location that preempted us recently is the last resort, as in the paper.
        this.isHot(location.id, now) ? 1 : 0,
        safe ? 0 : 1,
        safe ? held : -held,
        // Among equally filled locations, the one that failed longest ago (never = best).
        failedAt === undefined ? Number.NEGATIVE_INFINITY : failedAt,
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
      preemptedAt: Object.fromEntries(this.#preemptedAt),
      preemptions: Object.fromEntries(this.#preemptions),
      lostSincePlan: Object.fromEntries(this.#lostSincePlan),
      lostWhole: [...this.#lostWhole].sort(),
      onDemandFailed: [...this.#onDemandFailed].sort(),
      savings:
        this.#savings === undefined
          ? null
          : [this.#savings.value, this.#savings.at, this.#savings.rate],
      random: this.#random.state,
    };
  }

  restore(state: JsonValue): void {
    const record = snapshotRecord(state, SNAPSHOT_KIND);
    const scores = record['scores'];
    const failedAt = record['failedAt'];
    // Absent from snapshots written before the preemption cooldown existed.
    const preemptedAt = record['preemptedAt'] ?? {};
    // Absent from snapshots written before the spread repair existed.
    const preemptions = record['preemptions'] ?? {};
    // Absent from snapshots written before whole losses were told apart.
    const lostSincePlan = record['lostSincePlan'] ?? {};
    const lostWhole = record['lostWhole'] ?? [];
    const onDemandFailed = record['onDemandFailed'];
    // Absent from snapshots written before savings were counted.
    const savings = record['savings'] ?? null;
    const random = record['random'];
    if (
      !isJsonRecord(scores) ||
      !isJsonRecord(failedAt) ||
      !isJsonRecord(preemptedAt) ||
      !isJsonRecord(preemptions) ||
      !isJsonRecord(lostSincePlan) ||
      !Array.isArray(lostWhole) ||
      !Array.isArray(onDemandFailed) ||
      !(savings === null || isNumberTriple(savings)) ||
      typeof random !== 'number'
    ) {
      throw new InvalidArgumentError(
        `Expected \`state\` to be an adaptive-spothedge snapshot, got ${describeValue(state)}`,
        { argument: 'state', value: state },
      );
    }
    this.#scores.clear();
    for (const [location, pair] of Object.entries(scores)) {
      if (Array.isArray(pair) && typeof pair[0] === 'number' && typeof pair[1] === 'number') {
        this.#scores.set(location, { value: pair[0], at: pair[1] });
      }
    }
    restoreNumbers(this.#failedAt, failedAt);
    restoreNumbers(this.#preemptedAt, preemptedAt);
    restoreNumbers(this.#preemptions, preemptions);
    restoreNumbers(this.#lostSincePlan, lostSincePlan);
    restoreStrings(this.#lostWhole, lostWhole);
    restoreStrings(this.#onDemandFailed, onDemandFailed);
    this.#savings =
      savings === null ? undefined : { value: savings[0], at: savings[1], rate: savings[2] };
    this.#random.state = random;
  }
}

function isNumberTriple(value: JsonValue): value is [number, number, number] {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    value.every((item) => typeof item === 'number' && Number.isFinite(item))
  );
}

/** Replaces `into` with the numeric entries of a snapshot's location → number record. */
function restoreNumbers(
  into: Map<string, number>,
  record: { readonly [key: string]: JsonValue },
): void {
  into.clear();
  for (const [location, value] of Object.entries(record)) {
    if (typeof value === 'number') into.set(location, value);
  }
}

function restoreStrings(into: Set<string>, values: readonly JsonValue[]): void {
  into.clear();
  for (const value of values) if (typeof value === 'string') into.add(value);
}

/** Termination rank (lowest goes first): crowded locations first, riskier first. */
function crowdRank(count: number, risk: number): number {
  return -count * 100 - Math.min(99, Math.round(risk * 10));
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < a.length; index++) {
    const difference = a[index]! - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
