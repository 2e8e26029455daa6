/**
 * An experiment: policies × repeats over one trace, each repeat on its own window (drawn
 * as the paper's artifact draws them), scored by availability, cost and — with a workload —
 * request latency. The `optimal` entry is the omniscient integer program on each window.
 */
import { InvalidArgumentError, createLoadBalancer, describeValue } from '@spothedge/core';
import type { LoadBalancingPolicyName } from '@spothedge/core';
import { simulateLatency } from './latency-model.js';
import { percentile, runMetrics } from './metrics.js';
import { solveOptimum } from './optimum.js';
import type { PolicyName } from './policy-catalog.js';
import { RunPool } from './run-pool.js';
import { simulateWindow } from './simulate-window.js';
import type { PooledRun, WindowRequest } from './simulate-window.js';
import type { Timeline } from './timeline.js';
import { sliceTrace } from './trace.js';
import type { SpotTrace } from './trace.js';
import { windowOffsets } from './window-offsets.js';
import type { Workload } from './workload.js';
import { artifactZoneOrders, parseZoneShuffle } from './zone-shuffle.js';
import type { ZoneShuffle } from './zone-shuffle.js';

export interface ServiceModelSettings {
  /** The router's balancer used to spread requests. @default 'round-robin' (the paper's model) */
  readonly loadBalancing?: LoadBalancingPolicyName | undefined;
  /** @default 10 */
  readonly meanServiceSeconds?: number | undefined;
  /** @default 1 */
  readonly concurrency?: number | undefined;
  /** @default 100 */
  readonly timeoutSeconds?: number | undefined;
}

export interface ExperimentOptions {
  readonly trace: SpotTrace;
  readonly policies: readonly PolicyName[];
  /** N_target. @default 3 */
  readonly target?: number | undefined;
  /** N_extra of the SpotHedge variants. @default 1 */
  readonly extra?: number | undefined;
  /** @default 120 */
  readonly coldStartSeconds?: number | undefined;
  /** Window length. @default 24 */
  readonly hours?: number | undefined;
  /** @default 10 */
  readonly repeats?: number | undefined;
  /** Seed of the window offsets, placement and workload. @default 0 */
  readonly seed?: number | undefined;
  /**
   * How each repeat orders the zones offered to the policies (see {@link ZoneShuffle}).
   * `artifact` (the default) reproduces the paper artifact's orders, on which its Even
   * Spread numbers depend; it ignores `seed`, as the artifact does. `seeded` shuffles with
   * our own generator, so the orders change with `seed`.
   * @default 'artifact'
   */
  readonly zoneShuffle?: ZoneShuffle | undefined;
  /** @default 1 */
  readonly spotPrice?: number | undefined;
  /** @default 3 */
  readonly onDemandPrice?: number | undefined;
  /** Requests; without one, latency fields are `null`. */
  readonly workload?: Workload | undefined;
  readonly serviceModel?: ServiceModelSettings | undefined;
  /**
   * Worker threads simulating windows at once (each window is independent and
   * deterministic: the results do not depend on it). `1` runs everything on this thread.
   * @default 1
   */
  readonly jobs?: number | undefined;
  /**
   * Worker threads to use instead of starting `jobs` new ones: share one {@link RunPool}
   * between experiments (each worker loads the engine once) and close it when done.
   */
  readonly pool?: RunPool | undefined;
  /** Keep every run's timeline in the result (for reports). @default false */
  readonly keepTimelines?: boolean | undefined;
  /** Called after each run. */
  readonly onProgress?:
    ((progress: { done: number; total: number; policy: string }) => void) | undefined;
}

/** One row of the results table (the `--json` shape, plus timelines when asked). */
export interface ExperimentResult {
  readonly trace: string;
  readonly policy: string;
  readonly repeats: number;
  /** Mean over repeats. */
  readonly availability: number;
  readonly availabilityMin: number;
  /** Mean over repeats, relative to `target` on-demand replicas. */
  readonly cost: number;
  /** Pooled over every request of every repeat, seconds. */
  readonly latencyP50: number | null;
  readonly latencyP90: number | null;
  readonly latencyP99: number | null;
  readonly failureRate: number | null;
  readonly runtimeMs: number;
  readonly timelines?: readonly Timeline[] | undefined;
  /** Every request latency (seconds, sorted) when timelines are kept, for plots. */
  readonly latencies?: Float64Array | undefined;
}

async function serially<T, R>(
  items: readonly T[],
  run: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (const [index, item] of items.entries()) results.push(await run(item, index));
  return results;
}

/**
 * Runs every policy over the same windows.
 *
 * @example
 * ```ts
 * const rows = await runExperiment({ trace: loadTrace({ path }), policies: ['spothedge', 'optimal'] });
 * ```
 */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult[]> {
  const trace = options.trace;
  const target = options.target ?? 3;
  const extra = options.extra ?? 1;
  const coldStartSeconds = options.coldStartSeconds ?? 120;
  const repeats = options.repeats ?? 10;
  const seed = options.seed ?? 0;
  const hours = options.hours ?? 24;
  const windowTicks = Math.round((hours * 3600) / trace.tickSeconds);
  const coldStartTicks = Math.ceil(coldStartSeconds / trace.tickSeconds);
  const offsets = windowOffsets({ traceTicks: trace.ticks, windowTicks, repeats, seed });
  const zoneShuffle = parseZoneShuffle(options.zoneShuffle ?? 'artifact', 'zoneShuffle');
  const zoneOrders =
    zoneShuffle === 'artifact'
      ? artifactZoneOrders(
          trace.zones.map((zone) => zone.location),
          repeats,
        )
      : undefined;
  const model = options.serviceModel ?? {};
  const arrivals = offsets.map((offset, repeat) => {
    const arrivalOptions = {
      durationSeconds: windowTicks * trace.tickSeconds,
      startSeconds: offset * trace.tickSeconds,
      seed: seed * 1_000 + repeat,
    };
    const workload = options.workload;
    if (workload === undefined) return undefined;
    return (
      workload.arrivalsByClient?.(arrivalOptions) ?? {
        times: workload.arrivals(arrivalOptions),
        clients: undefined,
      }
    );
  });
  const total = options.policies.length * repeats;
  let done = 0;
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new InvalidArgumentError(
      `Expected \`jobs\` to be an integer >= 1, got ${describeValue(options.jobs)}`,
      { argument: 'jobs', value: options.jobs },
    );
  }
  const ownPool = options.pool === undefined && jobs > 1 ? new RunPool({ jobs }) : undefined;
  const pool = options.pool ?? ownPool;
  const runWindow = async (policyName: PolicyName, repeat: number): Promise<PooledRun> => {
    const offset = offsets[repeat]!;
    let run: PooledRun;
    if (policyName === 'optimal') {
      const optimum = await solveOptimum({
        trace: sliceTrace(trace, offset, windowTicks),
        target,
        extra,
        coldStartTicks,
        spotPrice: options.spotPrice,
        onDemandPrice: options.onDemandPrice,
      });
      // The solve itself: windows solved concurrently would otherwise count each other.
      run = { timeline: optimum.timeline, runtimeMs: optimum.solveMs };
    } else {
      const request: WindowRequest = {
        offset,
        ticks: windowTicks,
        target,
        coldStartSeconds,
        spotPrice: options.spotPrice,
        onDemandPrice: options.onDemandPrice,
        policy: policyName,
        extra,
        seed: seed * 1_000 + repeat,
        shuffleSeed: zoneShuffle === 'seeded' ? seed * 1_000 + repeat : undefined,
        zoneOrder: zoneOrders?.[repeat],
      };
      run =
        pool === undefined ? await simulateWindow(trace, request) : await pool.run(trace, request);
    }
    options.onProgress?.({ done: ++done, total, policy: policyName });
    return run;
  };
  let runs: PooledRun[][];
  try {
    runs =
      pool === undefined
        ? await serially(options.policies, (policyName) =>
            serially(offsets, (_, repeat) => runWindow(policyName, repeat)),
          )
        : await Promise.all(
            options.policies.map((policyName) =>
              Promise.all(offsets.map((_, repeat) => runWindow(policyName, repeat))),
            ),
          );
  } finally {
    await ownPool?.close();
  }
  const results: ExperimentResult[] = [];
  for (const [policyIndex, policyName] of options.policies.entries()) {
    const timelines = runs[policyIndex]!.map((run) => run.timeline);
    const metrics = timelines.map((timeline) =>
      runMetrics(timeline, { spotPrice: options.spotPrice, onDemandPrice: options.onDemandPrice }),
    );
    let latencies: Float64Array | undefined;
    let failed = 0;
    if (options.workload !== undefined) {
      const parts = timelines.map((timeline, repeat) =>
        simulateLatency(timeline, arrivals[repeat]!.times, {
          // One balancer per client: each client dispatches on its own (the paper's model).
          balancer: () => createLoadBalancer(model.loadBalancing ?? 'round-robin'),
          clients: arrivals[repeat]!.clients,
          meanServiceSeconds: model.meanServiceSeconds,
          concurrency: model.concurrency,
          timeoutSeconds: model.timeoutSeconds,
          seed: seed * 1_000 + repeat,
        }),
      );
      latencies = new Float64Array(parts.reduce((sum, part) => sum + part.latencies.length, 0));
      let at = 0;
      for (const part of parts) {
        latencies.set(part.latencies, at);
        at += part.latencies.length;
        failed += part.failed;
      }
      latencies.sort();
    }
    const mean = (values: readonly number[]) =>
      values.reduce((sum, value) => sum + value, 0) / values.length;
    results.push({
      trace: trace.name,
      policy: policyName,
      repeats,
      availability: mean(metrics.map((metric) => metric.availability)),
      availabilityMin: Math.min(...metrics.map((metric) => metric.availability)),
      cost: mean(metrics.map((metric) => metric.cost)),
      latencyP50: latencies ? percentile(latencies, 0.5) : null,
      latencyP90: latencies ? percentile(latencies, 0.9) : null,
      latencyP99: latencies ? percentile(latencies, 0.99) : null,
      failureRate: latencies ? (latencies.length === 0 ? 0 : failed / latencies.length) : null,
      // Time spent simulating this policy's windows (summed over workers when parallel).
      runtimeMs: Math.round(runs[policyIndex]!.reduce((sum, run) => sum + run.runtimeMs, 0)),
      ...(options.keepTimelines ? { timelines, latencies } : {}),
    });
  }
  return results;
}
