/**
 * One experiment window from a plain, cloneable request: the policy is built by name, so
 * the same call serves `runExperiment` on this thread and on a {@link RunPool} worker.
 */
import { createPolicy } from './policy-catalog.js';
import type { PolicyName } from './policy-catalog.js';
import { simulateRun } from './simulate.js';
import type { Timeline } from './timeline.js';
import type { SpotTrace } from './trace.js';

/** One window to simulate (everything `simulateRun` needs, in cloneable form). */
export interface WindowRequest {
  readonly offset: number;
  readonly ticks: number;
  readonly target: number;
  readonly coldStartSeconds: number;
  readonly spotPrice: number | undefined;
  readonly onDemandPrice: number | undefined;
  readonly policy: Exclude<PolicyName, 'optimal'>;
  readonly extra: number;
  readonly seed: number;
  /** Seed of our own zone shuffle (`zoneShuffle: 'seeded'`). */
  readonly shuffleSeed?: number | undefined;
  /** Location ids in the order offered to the policy; wins over `shuffleSeed`. */
  readonly zoneOrder?: readonly string[] | undefined;
}

/** A finished window: its timeline and the time spent simulating it. */
export interface PooledRun {
  readonly timeline: Timeline;
  readonly runtimeMs: number;
}

export async function simulateWindow(trace: SpotTrace, request: WindowRequest): Promise<PooledRun> {
  const started = performance.now();
  const timeline = await simulateRun({
    ...request,
    trace,
    policy: createPolicy(request.policy, { extra: request.extra, seed: request.seed }),
  });
  return { timeline, runtimeMs: performance.now() - started };
}
