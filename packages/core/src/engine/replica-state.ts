/**
 * The replica lifecycle as data: a snapshot is a discriminated union on `status` and
 * {@link transition} is a pure function from (snapshot, event) to the next snapshot. The
 * reconciler feeds it facts (provider states, probe results, its own decisions); it never
 * reads the clock or does I/O, so every move can be tested in isolation.
 *
 * ```
 * pending ─launch─► provisioning ─run─► starting ─probe-pass─► ready ⇄ not-ready
 *    │                  │                   │                    │          │
 *    └──────────────────┴───── drain/terminate/preempt/fail ─────┴──────────┘
 * ready/not-ready ─drain─► draining ─terminate─► terminating ─terminated─► terminated
 * any alive or draining ─preempt─► preempted;   ─fail─► failed
 * ```
 */
import { IllegalStateError } from '../errors.js';
import type { ReplicaStatus } from '../policy/types.js';

/** A launch intent exists; the provider has not answered yet. */
export interface PendingState {
  readonly status: 'pending';
}
/** The instance exists but does not run yet. */
export interface ProvisioningState {
  readonly status: 'provisioning';
  readonly instanceId: string;
}
/** The instance runs; the readiness probe has not passed yet (cold start). */
export interface StartingState {
  readonly status: 'starting';
  readonly instanceId: string;
  /** Epoch ms when the instance was first seen running. */
  readonly runningAt: number;
}
/** Serving traffic. */
export interface ReadyState {
  readonly status: 'ready';
  readonly instanceId: string;
  readonly runningAt: number;
  /** Epoch ms of the first passing probe. */
  readonly readyAt: number;
}
/** Was ready; probes fail now, fewer times than the failure threshold so far. */
export interface NotReadyState {
  readonly status: 'not-ready';
  readonly instanceId: string;
  readonly runningAt: number;
  readonly readyAt: number;
  /** Consecutive failed probes. */
  readonly failures: number;
}
/** Scaled down: out of the routing set, finishing in-flight requests until `until`. */
export interface DrainingState {
  readonly status: 'draining';
  readonly instanceId: string;
  readonly until: number;
  readonly reason: string;
}
/** Terminate requested (persisted before the provider is called). */
export interface TerminatingState {
  readonly status: 'terminating';
  readonly instanceId: string | undefined;
  readonly reason: string;
}
/** Final: terminated by us. */
export interface TerminatedState {
  readonly status: 'terminated';
  readonly reason: string;
}
/** Final: the cloud reclaimed the spot instance. */
export interface PreemptedState {
  readonly status: 'preempted';
  readonly at: number;
  readonly reason: string;
}
/** Final: the replica failed (launch rejected, readiness timeout, unhealthy, vanished). */
export interface FailedState {
  readonly status: 'failed';
  readonly reason: string;
}

/** One replica's lifecycle snapshot, discriminated on `status`. */
export type ReplicaState =
  | PendingState
  | ProvisioningState
  | StartingState
  | ReadyState
  | NotReadyState
  | DrainingState
  | TerminatingState
  | TerminatedState
  | PreemptedState
  | FailedState;

/** What can happen to a replica; the input of {@link transition}. */
export type ReplicaTransitionEvent =
  /** The provider reports the instance (launch answered, or adopted / seen in `list`). */
  | { readonly type: 'instance-pending'; readonly instanceId: string }
  | { readonly type: 'instance-running'; readonly instanceId: string; readonly at: number }
  | { readonly type: 'probe-pass'; readonly at: number }
  | { readonly type: 'probe-fail'; readonly at: number }
  /** Graceful scale-down of a serving replica. */
  | { readonly type: 'drain'; readonly until: number; readonly reason: string }
  | { readonly type: 'terminate'; readonly reason: string }
  /** The terminate call succeeded (or the instance is confirmed gone after one). */
  | { readonly type: 'terminated' }
  | { readonly type: 'preempt'; readonly at: number; readonly reason: string }
  | { readonly type: 'fail'; readonly reason: string };

/** Statuses after which nothing can happen any more. */
export const FINAL_STATUSES: ReadonlySet<ReplicaStatus> = new Set<ReplicaStatus>([
  'terminated',
  'preempted',
  'failed',
]);

/** Whether no further transition is possible from `status`. */
export function isFinalStatus(status: ReplicaStatus): boolean {
  return FINAL_STATUSES.has(status);
}

/** The instance id a state refers to, if any. */
export function instanceIdOf(state: ReplicaState): string | undefined {
  return 'instanceId' in state ? state.instanceId : undefined;
}

function illegal(state: ReplicaState, event: ReplicaTransitionEvent): never {
  throw new IllegalStateError(
    `Replica cannot handle event \`${event.type}\` in status \`${state.status}\``,
    { state: state.status },
  );
}

/**
 * The next lifecycle snapshot after `event`. Pure: no clock, no I/O. Returns `state`
 * itself (same object) when the event changes nothing, so callers detect changes with
 * `!==`.
 *
 * @throws {IllegalStateError} when `event` is not allowed in `state.status`, e.g.
 * `probe-pass` while `pending`, or anything after a final status.
 *
 * @example
 * ```ts
 * let state: ReplicaState = { status: 'pending' };
 * state = transition(state, { type: 'instance-running', instanceId: 'i-1', at: 0 }); // starting
 * state = transition(state, { type: 'probe-pass', at: 5_000 }); // ready
 * ```
 */
export function transition(state: ReplicaState, event: ReplicaTransitionEvent): ReplicaState {
  switch (event.type) {
    case 'instance-pending':
      if (state.status === 'pending') {
        return { status: 'provisioning', instanceId: event.instanceId };
      }
      if (state.status === 'provisioning' && state.instanceId === event.instanceId) return state;
      return illegal(state, event);

    case 'instance-running':
      if (state.status === 'pending' || state.status === 'provisioning') {
        return { status: 'starting', instanceId: event.instanceId, runningAt: event.at };
      }
      if (
        (state.status === 'starting' ||
          state.status === 'ready' ||
          state.status === 'not-ready' ||
          state.status === 'draining' ||
          state.status === 'terminating') &&
        state.instanceId === event.instanceId
      ) {
        return state;
      }
      return illegal(state, event);

    case 'probe-pass':
      switch (state.status) {
        case 'starting':
          return {
            status: 'ready',
            instanceId: state.instanceId,
            runningAt: state.runningAt,
            readyAt: event.at,
          };
        case 'ready':
          return state;
        case 'not-ready':
          return {
            status: 'ready',
            instanceId: state.instanceId,
            runningAt: state.runningAt,
            readyAt: state.readyAt,
          };
        default:
          return illegal(state, event);
      }

    case 'probe-fail':
      switch (state.status) {
        case 'starting':
          return state; // cold start: failures are expected until the first pass
        case 'ready':
          return {
            status: 'not-ready',
            instanceId: state.instanceId,
            runningAt: state.runningAt,
            readyAt: state.readyAt,
            failures: 1,
          };
        case 'not-ready':
          return { ...state, failures: state.failures + 1 };
        default:
          return illegal(state, event);
      }

    case 'drain':
      if (state.status === 'ready' || state.status === 'not-ready') {
        return {
          status: 'draining',
          instanceId: state.instanceId,
          until: event.until,
          reason: event.reason,
        };
      }
      if (state.status === 'draining') return state;
      return illegal(state, event);

    case 'terminate':
      switch (state.status) {
        case 'provisioning':
        case 'starting':
        case 'ready':
        case 'not-ready':
        case 'draining':
          return { status: 'terminating', instanceId: state.instanceId, reason: event.reason };
        case 'pending':
          return { status: 'terminating', instanceId: undefined, reason: event.reason };
        case 'terminating':
          return state;
        default:
          return illegal(state, event);
      }

    case 'terminated':
      if (state.status === 'terminating') return { status: 'terminated', reason: state.reason };
      return illegal(state, event);

    case 'preempt':
      switch (state.status) {
        case 'pending':
        case 'provisioning':
        case 'starting':
        case 'ready':
        case 'not-ready':
        case 'draining':
          return { status: 'preempted', at: event.at, reason: event.reason };
        default:
          return illegal(state, event);
      }

    case 'fail':
      switch (state.status) {
        case 'pending':
        case 'provisioning':
        case 'starting':
        case 'ready':
        case 'not-ready':
        case 'draining':
          return { status: 'failed', reason: event.reason };
        default:
          return illegal(state, event);
      }
  }
}
