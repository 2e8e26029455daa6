/**
 * The placement policy contract. A policy is pure and deterministic given its inputs, its
 * options and its seed: `plan(view)` reads a snapshot of the fleet and returns actions;
 * `observe(event)` learns what happened. No I/O, no clock reads, no timers — so a policy
 * can be unit-tested with plain objects and replayed in the simulator.
 */
import type { CapacityType } from '../provider.js';

/**
 * Replica status names, as the SDK tracks them (see `ReplicaState` in the engine):
 * - `pending`: a launch intent exists; the provider has not answered yet.
 * - `provisioning`: the instance exists but is not running yet.
 * - `starting`: running; readiness probe not passing yet (cold start).
 * - `ready`: serving traffic.
 * - `not-ready`: was ready, probes failing now (below the failure threshold of a preemption).
 * - `draining`: scaled down; no new requests; finishing in-flight ones.
 * - `terminating`: terminate requested.
 * - `terminated`, `preempted`, `failed`: final.
 */
export type ReplicaStatus =
  | 'pending'
  | 'provisioning'
  | 'starting'
  | 'ready'
  | 'not-ready'
  | 'draining'
  | 'terminating'
  | 'terminated'
  | 'preempted'
  | 'failed';

/** Statuses that count as "alive" for planning: launched or launching, not being removed. */
export const ALIVE_STATUSES: ReadonlySet<ReplicaStatus> = new Set<ReplicaStatus>([
  'pending',
  'provisioning',
  'starting',
  'ready',
  'not-ready',
]);

/** Whether a replica in this status counts toward the fleet the policy plans for. */
export function isAlive(status: ReplicaStatus): boolean {
  return ALIVE_STATUSES.has(status);
}

/** One candidate location as the policy sees it. */
export interface LocationView {
  /** Location id, e.g. `aws/us-east-1/us-east-1a`. */
  readonly id: string;
  readonly cloud: string;
  readonly region: string;
  readonly zone?: string | undefined;
  /** Hourly price of one spot replica here; absent when spot is not offered here. */
  readonly spotPrice?: number | undefined;
  /** Hourly price of one on-demand replica here; absent when on-demand is not offered. */
  readonly onDemandPrice?: number | undefined;
}

/** One replica as the policy sees it. */
export interface ReplicaView {
  readonly id: string;
  /** Location id. */
  readonly location: string;
  readonly capacityType: CapacityType;
  readonly status: ReplicaStatus;
  /** Epoch ms (virtual or wall) when the launch was requested. */
  readonly launchedAt: number;
  /** When the replica first became ready, if it has. */
  readonly readyAt?: number | undefined;
  /** Set when the provider sent an interruption notice for this replica. */
  readonly interruptionNoticedAt?: number | undefined;
}

/** A snapshot of the fleet handed to {@link Policy.plan}. */
export interface FleetView {
  /** The current time (from the injected clock). */
  readonly now: number;
  /** How many ready replicas the service needs now (from the autoscaler). */
  readonly target: number;
  /** Hard upper bound on alive replicas of all kinds (spec `replicas.max` plus headroom). */
  readonly maxReplicas: number;
  readonly locations: readonly LocationView[];
  /** Every replica the SDK tracks that is not final (final ones are left out). */
  readonly replicas: readonly ReplicaView[];
}

export interface LaunchAction {
  readonly type: 'launch';
  /** Location id; must be one of `view.locations`. */
  readonly location: string;
  readonly capacityType: CapacityType;
  /** Why, for logs and events, e.g. `spot: overprovision 3+1`. */
  readonly reason: string;
}

export interface TerminateAction {
  readonly type: 'terminate';
  /** Replica id; must be one of `view.replicas`. */
  readonly replicaId: string;
  readonly reason: string;
}

export type PlanAction = LaunchAction | TerminateAction;

export interface Plan {
  readonly actions: readonly PlanAction[];
}

/** What happened, told to the policy by the reconciler (or a test). */
export type PolicyEvent =
  | {
      readonly type: 'launch-success';
      readonly at: number;
      readonly replicaId: string;
      readonly location: string;
      readonly capacityType: CapacityType;
    }
  | {
      readonly type: 'launch-failure';
      readonly at: number;
      readonly location: string;
      readonly capacityType: CapacityType;
      /** `capacity` for CapacityUnavailableError; `quota`, `other` for the rest. */
      readonly reason: 'capacity' | 'quota' | 'other';
    }
  | {
      readonly type: 'replica-ready';
      readonly at: number;
      readonly replicaId: string;
      readonly location: string;
      readonly capacityType: CapacityType;
    }
  | {
      readonly type: 'preemption';
      readonly at: number;
      readonly replicaId: string;
      readonly location: string;
    }
  | {
      readonly type: 'interruption-notice';
      readonly at: number;
      readonly replicaId: string;
      readonly location: string;
      readonly deadline?: number | undefined;
    };

/** A JSON-compatible value: what policy state serializes to. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A placement policy. Implementations must be deterministic given their options, seed,
 * the sequence of `observe` calls and the views passed to `plan`.
 *
 * Contract for `plan`: launch only in locations of `view.locations`; terminate only
 * replicas of `view.replicas`; never plan more alive replicas than `view.maxReplicas`.
 */
export interface Policy {
  /** Short name for logs and reports, e.g. `spothedge`. */
  readonly name: string;
  plan(view: FleetView): Plan;
  observe(event: PolicyEvent): void;
  /** Serializable state (location status, random generator state, ...). */
  snapshot(): JsonValue;
  /** Restores state from {@link Policy.snapshot}; unknown shapes throw `InvalidArgumentError`. */
  restore(state: JsonValue): void;
}
