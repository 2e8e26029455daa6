/**
 * The omniscient optimum: an integer program that knows the whole trace window and picks,
 * for every tick, how many spot replicas to hold in each zone and how many on-demand ones,
 * at minimum cost, such that from the first cold start on at least `target` replicas are
 * ready every tick. A replica is ready once it has been held for `coldStartTicks` ticks
 * without a break (the paper's model: ready count of a zone at `t` ≤ held count at each of
 * `t−coldStart…t`). Solved with HiGHS (WebAssembly). It is the lower bound every policy is
 * measured against.
 *
 * Compact formulation (per zone z, and on-demand as one more group, and tick t): integers
 * `held[z,t] ≤ min(capacity[z,t], target + extra)` and `launched[z,t]`, with
 * `held[z,t] ≤ held[z,t−1] + launched[z,t]` and, for t ≥ coldStart,
 * `Σ_z (held[z,t] − Σ_{k<coldStart} launched[z,t−k]) ≥ target`; minimize
 * `Σ spotPrice·held + onDemandPrice·heldOnDemand`. One row per zone and tick plus one per
 * tick (the artifact's form needs coldStart + 1 rows per zone and tick). Zones with no
 * capacity in the window are left out.
 */
import * as highsModule from 'highs';
import type { Highs } from 'highs';
import { IllegalStateError } from '@spothedge/core';
import type { SpotTrace } from './trace.js';
import type { ReplicaRecord, Timeline } from './timeline.js';

export interface OptimumOptions {
  readonly trace: SpotTrace;
  /** Ready replicas needed every tick. @default 3 */
  readonly target?: number | undefined;
  /** Headroom above `target` a solution may hold (the artifact's soft target 3 + 1). @default 1 */
  readonly extra?: number | undefined;
  /** Cold start in ticks. @default 4 */
  readonly coldStartTicks?: number | undefined;
  /** @default 1 */
  readonly spotPrice?: number | undefined;
  /** @default 3 */
  readonly onDemandPrice?: number | undefined;
  /** Solver time limit in seconds. @default 60 */
  readonly timeLimitSeconds?: number | undefined;
  /**
   * Cut time into segments between capacity changes (exact in every case we checked, and
   * 10–100× faster); `false` solves tick by tick. @default true
   */
  readonly segmented?: boolean | undefined;
  /** Relative MIP gap at which the solver stops. @default 2e-3 */
  readonly relativeGap?: number | undefined;
}

export interface OptimumResult {
  /** Held spot replicas per zone (trace order) and tick. */
  readonly heldSpot: readonly Int32Array[];
  readonly heldOnDemand: Int32Array;
  /** The plan as replica records (zone counts split last-in-first-out), for metrics and latency. */
  readonly timeline: Timeline;
  /** Whether HiGHS proved optimality (false: time limit hit; the result is the best found). */
  readonly optimal: boolean;
  /** Objective value (price units). */
  readonly objective: number;
  readonly solveMs: number;
}

let loader: Promise<Highs> | undefined;

/** Loads HiGHS once per process. */
function loadHighs(): Promise<Highs> {
  // The package's types describe a CommonJS module; under ESM its loader is `default`.
  const module = highsModule as unknown as {
    default: (() => Promise<Highs>) | { default: () => Promise<Highs> };
  };
  const load = typeof module.default === 'function' ? module.default : module.default.default;
  loader ??= load();
  return loader;
}

/**
 * Solves the omniscient optimum for one trace window.
 *
 * @example
 * ```ts
 * const optimum = await solveOptimum({ trace: sliceTrace(trace, offset, 2880) });
 * runMetrics(optimum.timeline).cost; // the lower bound on cost at 100% availability
 * ```
 */
export async function solveOptimum(options: OptimumOptions): Promise<OptimumResult> {
  const trace = options.trace;
  const target = options.target ?? 3;
  const extra = options.extra ?? 1;
  const coldStart = options.coldStartTicks ?? 4;
  const spotPrice = options.spotPrice ?? 1;
  const onDemandPrice = options.onDemandPrice ?? 3;
  const ticks = trace.ticks;
  const upper = target + extra;
  const zones = trace.zones
    .map((zone, index) => ({ zone, index }))
    .filter(({ zone }) => zone.capacity.some((value) => value > 0));
  // Time is cut into segments at every capacity change b and at b ± coldStart (when a
  // replacement must start to be ready at a drop, and when a replica launched at a rise
  // becomes ready): every variable is constant over a segment and launches happen at
  // segment starts. Checked against the tick-by-tick program in the tests.
  const segments = segmentStarts(
    trace,
    coldStart,
    zones.map(({ zone }) => zone.capacity),
    options.segmented ?? true,
  );
  const count = segments.length - 1;
  const length = (segment: number) => segments[segment + 1]! - segments[segment]!;
  // Columns: per group g (each zone, then on-demand) and segment j: held (2g·S + j) and
  // launched at its start (2g·S + S + j). Ready at a tick is held minus those launched in
  // the last `coldStart` ticks: equal to the paper's min(held[t−coldStart…t]) when nothing
  // launched is dropped before it is ready (never optimal), and never above it.
  const groups = zones.length + 1;
  const numCols = groups * 2 * count;
  const colCost = new Float64Array(numCols);
  const colLower = new Float64Array(numCols);
  const colUpper = new Float64Array(numCols);
  for (let group = 0; group < groups; group++) {
    const onDemand = group === zones.length;
    const capacity = onDemand ? undefined : zones[group]!.zone.capacity;
    for (let segment = 0; segment < count; segment++) {
      const held = 2 * group * count + segment;
      colCost[held] = (onDemand ? onDemandPrice : spotPrice) * length(segment);
      colUpper[held] = Math.min(upper, capacity ? capacity[segments[segment]!]! : upper);
      colUpper[held + count] = colUpper[held]!;
    }
  }
  // Rows (CSR): held[g,j] − held[g,j−1] − launched[g,j] ≤ 0 (growth needs launches), then
  // for each segment from the first cold start on, at its first tick t (the one with the
  // most recent launches): Σ_g (held[g,j] − Σ launched[g,i] for starts i in (t−coldStart, t])
  // ≥ target.
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  const rowLower: number[] = [];
  const rowUpper: number[] = [];
  for (let group = 0; group < groups; group++) {
    for (let segment = 0; segment < count; segment++) {
      const held = 2 * group * count + segment;
      if (segment > 0) {
        indices.push(held - 1);
        values.push(-1);
      }
      indices.push(held, held + count);
      values.push(1, -1);
      starts.push(indices.length);
      rowLower.push(-Infinity);
      rowUpper.push(0);
    }
  }
  for (let segment = 0; segment < count; segment++) {
    const tick = segments[segment]!;
    if (tick < coldStart) continue;
    let first = segment;
    while (first > 0 && segments[first - 1]! > tick - coldStart) first--;
    for (let group = 0; group < groups; group++) {
      const held = 2 * group * count + segment;
      indices.push(held);
      values.push(1);
      for (let recent = first; recent <= segment; recent++) {
        indices.push(2 * group * count + count + recent);
        values.push(-1);
      }
    }
    starts.push(indices.length);
    rowLower.push(target);
    rowUpper.push(Infinity);
  }
  const highs = await loadHighs();
  const started = performance.now();
  const integrality = new Int32Array(numCols).fill(1);
  const model = highs.createModel({
    numCols,
    numRows: rowLower.length,
    colCost,
    colLower,
    colUpper,
    rowLower: Float64Array.from(rowLower, (value) =>
      value === -Infinity ? -highs.infinity : value,
    ),
    rowUpper: Float64Array.from(rowUpper, (value) => (value === Infinity ? highs.infinity : value)),
    matrix: {
      format: 'csr',
      numRows: rowLower.length,
      numCols,
      starts: Int32Array.from(starts),
      indices: Int32Array.from(indices),
      values: Float64Array.from(values),
    },
    integrality: integrality as unknown as Int32Array,
  });
  try {
    model.options.set({
      output_flag: false,
      time_limit: options.timeLimitSeconds ?? 60,
      mip_rel_gap: options.relativeGap ?? 2e-3,
    });
    const result = model.run();
    const status = result.modelStatus;
    const solution = model.getSolution();
    const optimal = status === highs.constants.modelStatus.optimal;
    if (!optimal && status !== highs.constants.modelStatus.timeLimit) {
      throw new IllegalStateError(
        `The optimum integer program for ${trace.name} ended with HiGHS status ${status}`,
        { state: String(status) },
      );
    }
    const value = (column: number) => Math.round(solution.colValue[column] ?? 0);
    const heldSpot = trace.zones.map(() => new Int32Array(ticks));
    const heldOnDemand = new Int32Array(ticks);
    let objective = 0;
    for (let group = 0; group < groups; group++) {
      const onDemand = group === zones.length;
      const out = onDemand ? heldOnDemand : heldSpot[zones[group]!.index]!;
      for (let segment = 0; segment < count; segment++) {
        const held = value(2 * group * count + segment);
        out.fill(held, segments[segment]!, segments[segment + 1]!);
        objective += held * (onDemand ? onDemandPrice : spotPrice) * length(segment);
      }
    }
    const timeline = countsToTimeline({
      trace,
      heldSpot,
      heldOnDemand,
      coldStartTicks: coldStart,
      target,
    });
    return {
      heldSpot,
      heldOnDemand,
      timeline,
      optimal,
      objective,
      solveMs: performance.now() - started,
    };
  } finally {
    model.dispose();
  }
}

/** Segment boundaries: 0, every capacity change b and b ± coldStart, coldStart, and the end. */
function segmentStarts(
  trace: SpotTrace,
  coldStart: number,
  capacities: readonly Int32Array[],
  segmented: boolean,
): number[] {
  const ticks = trace.ticks;
  const marks = new Uint8Array(ticks + 1);
  marks[0] = 1;
  marks[ticks] = 1;
  if (coldStart < ticks) marks[coldStart] = 1;
  for (const capacity of capacities) {
    for (let tick = 1; tick < ticks; tick++) {
      if (capacity[tick] === capacity[tick - 1]) continue;
      for (const at of [tick - coldStart, tick, tick + coldStart]) {
        if (at > 0 && at < ticks) marks[at] = 1;
      }
    }
  }
  if (!segmented) marks.fill(1);
  const starts: number[] = [];
  for (let tick = 0; tick <= ticks; tick++) if (marks[tick]) starts.push(tick);
  return starts;
}

/**
 * Turns per-zone held counts into replica records: a rise launches replicas, a drop ends
 * the newest ones first; a replica is ready `coldStartTicks` after its launch.
 */
export function countsToTimeline(options: {
  trace: SpotTrace;
  heldSpot: readonly Int32Array[];
  heldOnDemand: Int32Array;
  coldStartTicks: number;
  target: number;
}): Timeline {
  const { trace, coldStartTicks } = options;
  const replicas: ReplicaRecord[] = [];
  let nextId = 0;
  const split = (counts: Int32Array, location: string, capacityType: 'spot' | 'on-demand') => {
    const stack: ReplicaRecord[] = [];
    for (let tick = 0; tick < trace.ticks; tick++) {
      const count = counts[tick]!;
      while (stack.length > count) {
        const replica = stack.pop()!;
        replica.endTick = tick;
        replica.endReason = 'terminated';
        if (replica.readyTick !== undefined && replica.readyTick >= tick)
          replica.readyTick = undefined;
      }
      while (stack.length < count) {
        const replica: ReplicaRecord = {
          id: `optimum-${nextId++}`,
          location,
          capacityType,
          launchTick: tick,
          readyTick: tick + coldStartTicks,
          endTick: trace.ticks,
          endReason: 'running',
        };
        stack.push(replica);
        replicas.push(replica);
      }
    }
    for (const replica of stack) {
      if (replica.readyTick !== undefined && replica.readyTick >= trace.ticks)
        replica.readyTick = undefined;
    }
  };
  trace.zones.forEach((zone, index) => split(options.heldSpot[index]!, zone.location, 'spot'));
  split(options.heldOnDemand, 'on-demand', 'on-demand');
  return {
    ticks: trace.ticks,
    tickSeconds: trace.tickSeconds,
    coldStartTicks,
    target: options.target,
    replicas,
    locations: [...trace.zones.map((zone) => zone.location), 'on-demand'],
  };
}
