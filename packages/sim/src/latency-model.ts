/**
 * The request service model: requests arrive (a {@link Workload}), the load balancer the
 * router uses picks one of the replicas ready at that moment, each replica serves
 * `concurrency` requests at a time in FIFO order with exponential service times, and a
 * request fails — counted at the timeout — when it waited longer than the timeout, was
 * queued on a replica that went away before finishing it, or found no ready replica.
 *
 * Runs over a finished {@link Timeline}, like the paper's artifact, so one engine run can
 * be scored under several workloads.
 */
import { SeededRandom } from '@spothedge/core';
import type { BalancerCandidate, LoadBalancer } from '@spothedge/core';
import type { Timeline } from './timeline.js';

export interface ServiceModelOptions {
  /**
   * Picks the replica for each request: the router's `RoundRobinBalancer`,
   * `LeastLoadBalancer`, ... — or a factory, called once per client when `clients` is
   * given (each client dispatches on its own, as in the paper's model).
   */
  readonly balancer: LoadBalancer | (() => LoadBalancer);
  /** The client of each arrival (parallel to `arrivals`). */
  readonly clients?: Int32Array | undefined;
  /** Mean service time in seconds (exponential). @default 10 */
  readonly meanServiceSeconds?: number | undefined;
  /** Requests a replica serves at once. @default 1 */
  readonly concurrency?: number | undefined;
  /** Seconds after which a request counts as failed. @default 100 */
  readonly timeoutSeconds?: number | undefined;
  /** Seed for the service times. @default 0 */
  readonly seed?: number | undefined;
}

export interface LatencyResult {
  /** Latency of every request in seconds (failed ones at the timeout), unsorted. */
  readonly latencies: Float64Array;
  readonly failed: number;
}

interface ServerState {
  readonly candidate: { -readonly [Key in keyof BalancerCandidate]: BalancerCandidate[Key] };
  /** When each of its `concurrency` slots frees up. */
  readonly slots: Float64Array;
  /** Completion times of requests assigned to it, in order (for in-flight counts). */
  readonly completions: number[];
  head: number;
  /** Seconds at which it stops being ready. */
  readonly endSeconds: number;
}

/**
 * Scores one run's timeline under a workload's arrivals.
 *
 * @example
 * ```ts
 * const { latencies } = simulateLatency(timeline, arrivals, { balancer: new RoundRobinBalancer() });
 * ```
 */
export function simulateLatency(
  timeline: Timeline,
  arrivals: Float64Array,
  options: ServiceModelOptions,
): LatencyResult {
  const meanService = options.meanServiceSeconds ?? 10;
  const concurrency = options.concurrency ?? 1;
  const timeout = options.timeoutSeconds ?? 100;
  const random = new SeededRandom((options.seed ?? 0) ^ 0x1a7e);
  const tickSeconds = timeline.tickSeconds;
  // Replicas ordered by the tick they become ready; each is ready in [readyTick, endTick).
  const byReady = timeline.replicas
    .filter((replica) => replica.readyTick !== undefined && replica.readyTick < replica.endTick)
    .sort((a, b) => a.readyTick! - b.readyTick! || a.launchTick - b.launchTick);
  const shared = typeof options.balancer === 'function' ? undefined : options.balancer;
  const factory = typeof options.balancer === 'function' ? options.balancer : undefined;
  const balancers = new Map<number, LoadBalancer>();
  const balancerFor = (index: number): LoadBalancer => {
    if (shared !== undefined) return shared;
    const client = options.clients?.[index] ?? 0;
    let balancer = balancers.get(client);
    if (balancer === undefined) {
      balancer = factory!();
      balancers.set(client, balancer);
    }
    return balancer;
  };
  const latencies = new Float64Array(arrivals.length);
  let failed = 0;
  let next = 0;
  const active: ServerState[] = [];
  let currentTick = -1;
  for (let index = 0; index < arrivals.length; index++) {
    const at = arrivals[index]!;
    const tick = Math.floor(at / tickSeconds);
    if (tick !== currentTick) {
      currentTick = tick;
      while (next < byReady.length && byReady[next]!.readyTick! <= tick) {
        const replica = byReady[next++]!;
        active.push({
          candidate: {
            replica: {
              id: replica.id,
              endpoint: `sim://${replica.id}`,
              location: replica.location,
              capacityType: replica.capacityType,
            },
            inFlight: 0,
          },
          slots: new Float64Array(concurrency),
          completions: [],
          head: 0,
          endSeconds: replica.endTick * tickSeconds,
        });
      }
      for (let position = active.length - 1; position >= 0; position--) {
        if (active[position]!.endSeconds <= tick * tickSeconds) active.splice(position, 1);
      }
    }
    const candidates: BalancerCandidate[] = [];
    for (const server of active) {
      while (server.head < server.completions.length && server.completions[server.head]! <= at) {
        server.head++;
      }
      server.candidate.inFlight = server.completions.length - server.head;
      candidates.push(server.candidate);
    }
    const picked = candidates.length === 0 ? undefined : balancerFor(index).pick(candidates);
    const server =
      picked && active.find((candidate) => candidate.candidate.replica.id === picked.id);
    if (!server) {
      latencies[index] = timeout;
      failed++;
      continue;
    }
    // FIFO over `concurrency` slots: the earliest free slot takes the request.
    let slot = 0;
    for (let other = 1; other < concurrency; other++) {
      if (server.slots[other]! < server.slots[slot]!) slot = other;
    }
    const start = Math.max(at, server.slots[slot]!);
    const service = -Math.log(1 - random.next()) * meanService;
    if (start - at > timeout) {
      latencies[index] = timeout;
      failed++;
      continue;
    }
    const done = start + service;
    server.slots[slot] = done;
    // Keep completions sorted (with several slots a later request can finish earlier).
    let position = server.completions.length;
    while (position > server.head && server.completions[position - 1]! > done) position--;
    server.completions.splice(position, 0, done);
    if (done > server.endSeconds) {
      latencies[index] = timeout;
      failed++;
      continue;
    }
    latencies[index] = done - at;
  }
  return { latencies, failed };
}
