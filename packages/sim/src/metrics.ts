/**
 * Metrics exactly as the paper defines them (see `docs/evaluation.md`):
 * - availability: share of ticks from the first cold start on (ticks `coldStart…T−1`) with
 *   at least `target` ready replicas;
 * - cost: Σ over the same ticks of (spot replicas held × spot price + on-demand replicas
 *   held × on-demand price) divided by the cost of `target` on-demand replicas over them
 *   (on-demand = 3× spot unless prices are given).
 */
import { tickCounts } from './timeline.js';
import type { Timeline } from './timeline.js';

export interface CostModel {
  /** Price of one spot replica per tick, relative units. @default 1 */
  readonly spotPrice?: number | undefined;
  /** Price of one on-demand replica per tick, relative units. @default 3 */
  readonly onDemandPrice?: number | undefined;
}

export interface RunMetrics {
  readonly availability: number;
  /** Relative to `target` on-demand replicas over the same ticks. */
  readonly cost: number;
  /** Ticks counted (those after the first cold start). */
  readonly countedTicks: number;
}

/** Availability and relative cost of one run. */
export function runMetrics(timeline: Timeline, costModel: CostModel = {}): RunMetrics {
  const spotPrice = costModel.spotPrice ?? 1;
  const onDemandPrice = costModel.onDemandPrice ?? 3;
  const counts = tickCounts(timeline);
  let available = 0;
  let cost = 0;
  const first = Math.min(timeline.coldStartTicks, timeline.ticks);
  for (let tick = first; tick < timeline.ticks; tick++) {
    if (counts.readySpot[tick]! + counts.readyOnDemand[tick]! >= timeline.target) available++;
    cost += counts.heldSpot[tick]! * spotPrice + counts.heldOnDemand[tick]! * onDemandPrice;
  }
  const countedTicks = timeline.ticks - first;
  return {
    availability: countedTicks === 0 ? 1 : available / countedTicks,
    cost: countedTicks === 0 ? 0 : cost / (timeline.target * onDemandPrice * countedTicks),
    countedTicks,
  };
}

/**
 * The `q`-quantile (0…1) of sorted samples with linear interpolation between ranks (as
 * NumPy's default `percentile`, which the paper's artifact uses); `null` when empty.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null;
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  const fraction = position - lower;
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * fraction;
}
