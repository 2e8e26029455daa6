/**
 * Load balancing: which ready replica gets the next request. Balancers are pure
 * decisions — no I/O, no clock — so the router uses them on live traffic and the
 * simulator uses the same classes in virtual time.
 */
import { InvalidArgumentError, describeValue } from '../errors.js';
import type { CapacityType } from '../provider.js';
import type { SeededRandom } from '../random.js';

/** A ready replica the router may send requests to. */
export interface RoutableReplica {
  /** Stable replica id (the engine's id, not the cloud's instance id). */
  readonly id: string;
  /**
   * Base URL the replica serves on, e.g. `http://10.0.0.5:8080` (a path prefix such as
   * `http://10.0.0.5:8080/api` is kept). The only address the router ever contacts.
   */
  readonly endpoint: string;
  /** Location id, e.g. `aws/us-east-1/us-east-1a`. */
  readonly location: string;
  readonly capacityType: CapacityType;
}

/** One replica a balancer may pick, with the number of requests it is serving now. */
export interface BalancerCandidate {
  readonly replica: RoutableReplica;
  /** Requests routed to this replica that have not finished yet (response body included). */
  readonly inFlight: number;
}

/**
 * Chooses a replica for one request. Implementations must be pure and cheap: they run
 * once per request (and once per failover attempt, with the replicas that already failed
 * left out of `candidates`).
 *
 * @example
 * ```ts
 * // Prefer on-demand replicas, least loaded first.
 * const preferOnDemand: LoadBalancer = {
 *   name: 'prefer-on-demand',
 *   pick(candidates) {
 *     const onDemand = candidates.filter((c) => c.replica.capacityType === 'on-demand');
 *     return leastLoad.pick(onDemand.length > 0 ? onDemand : candidates);
 *   },
 * };
 * ```
 */
export interface LoadBalancer {
  /** Short name for logs and reports, e.g. `least-load`. */
  readonly name: string;
  /**
   * Returns one of `candidates`' replicas, or `undefined` to refuse the request (the
   * router then answers as if no replica were ready). `candidates` is never mutated.
   */
  pick(candidates: readonly BalancerCandidate[]): RoutableReplica | undefined;
}

/** Options of {@link LeastLoadBalancer}. */
export interface LeastLoadBalancerOptions {
  /**
   * Breaks ties between equally loaded replicas at random with this generator (seeded,
   * so runs are reproducible). Without it, ties are broken by a rotating cursor, which
   * spreads an idle fleet's requests round-robin.
   * @default undefined (rotating cursor)
   */
  readonly random?: SeededRandom;
}

/**
 * Sends each request to the replica with the fewest requests in flight (SkyServe's
 * `least_load`); ties are broken fairly, so equally loaded replicas share the traffic.
 * The default policy.
 */
export class LeastLoadBalancer implements LoadBalancer {
  readonly name = 'least-load';
  readonly #random: SeededRandom | undefined;
  #cursor = 0;

  constructor(options: LeastLoadBalancerOptions = {}) {
    this.#random = options.random;
  }

  pick(candidates: readonly BalancerCandidate[]): RoutableReplica | undefined {
    const count = candidates.length;
    if (count === 0) return undefined;
    if (count === 1) return candidates[0]!.replica;
    let lowest = Number.POSITIVE_INFINITY;
    let ties = 0;
    for (const candidate of candidates) {
      if (candidate.inFlight < lowest) {
        lowest = candidate.inFlight;
        ties = 1;
      } else if (candidate.inFlight === lowest) {
        ties++;
      }
    }
    const chosen = this.#random === undefined ? this.#cursor++ % ties : this.#random.nextInt(ties);
    if (this.#cursor >= Number.MAX_SAFE_INTEGER) this.#cursor = 0;
    let seen = 0;
    for (const candidate of candidates) {
      if (candidate.inFlight === lowest && seen++ === chosen) return candidate.replica;
    }
    return undefined; // unreachable: `chosen < ties`
  }
}

/** Sends requests to the candidates in turn, ignoring their load (SkyServe's `round_robin`). */
export class RoundRobinBalancer implements LoadBalancer {
  readonly name = 'round-robin';
  #cursor = 0;

  pick(candidates: readonly BalancerCandidate[]): RoutableReplica | undefined {
    if (candidates.length === 0) return undefined;
    const candidate = candidates[this.#cursor % candidates.length]!;
    this.#cursor = (this.#cursor + 1) % Number.MAX_SAFE_INTEGER;
    return candidate.replica;
  }
}

/** The built-in load-balancing policies, by name. */
export type LoadBalancingPolicyName = 'least-load' | 'round-robin';

/**
 * Resolves a load-balancing setting: a built-in policy name (a fresh balancer each call)
 * or a custom {@link LoadBalancer}, returned as is.
 *
 * @throws {InvalidArgumentError} for an unknown name or an object without `pick`.
 * @example
 * ```ts
 * const balancer = createLoadBalancer('round-robin');
 * ```
 */
export function createLoadBalancer(policy: LoadBalancingPolicyName | LoadBalancer): LoadBalancer {
  if (policy === 'least-load') return new LeastLoadBalancer();
  if (policy === 'round-robin') return new RoundRobinBalancer();
  if (
    typeof policy === 'object' &&
    policy !== null &&
    typeof (policy as Partial<LoadBalancer>).pick === 'function'
  ) {
    return policy;
  }
  throw new InvalidArgumentError(
    `Expected \`loadBalancing\` to be 'least-load', 'round-robin' or a LoadBalancer, got ${describeValue(policy)}`,
    { argument: 'loadBalancing', value: policy },
  );
}
