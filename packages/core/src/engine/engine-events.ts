/**
 * Typed events of the engine. Names are noun-verb; each handler gets a frozen event
 * object with an `id` (unique per service run), the clock time `at`, the `service`, and
 * the ids needed to correlate (replica, instance, location).
 */
import type { CapacityType } from '../provider.js';

export interface EngineEventBase {
  /** Unique within a manager's life: `<service>-<sequence>`. */
  readonly id: string;
  /** Clock time (epoch ms, virtual in the simulator). */
  readonly at: number;
  readonly service: string;
}

/** Fields of every replica event. */
export interface ReplicaEventFields extends EngineEventBase {
  readonly replicaId: string;
  readonly provider: string;
  readonly location: string;
  readonly capacityType: CapacityType;
  readonly instanceId: string | undefined;
}

/** The provider accepted a launch (the instance exists). */
export interface ReplicaLaunchEvent extends ReplicaEventFields {
  readonly type: 'replica-launch';
  readonly reason: string;
}
/** An instance with our tags was taken over (after a restart, or an unresolved intent). */
export interface ReplicaAdoptEvent extends ReplicaEventFields {
  readonly type: 'replica-adopt';
}
/** The readiness probe passed: the replica takes traffic. */
export interface ReplicaReadyEvent extends ReplicaEventFields {
  readonly type: 'replica-ready';
}
/** A ready replica failed a probe; it is out of the routing set until it passes again. */
export interface ReplicaDegradeEvent extends ReplicaEventFields {
  readonly type: 'replica-degrade';
  readonly failures: number;
}
/** Scale-down: out of routing, draining until `until`, then terminated. */
export interface ReplicaDrainEvent extends ReplicaEventFields {
  readonly type: 'replica-drain';
  readonly until: number;
  readonly reason: string;
}
/** The instance was terminated by us. */
export interface ReplicaTerminateEvent extends ReplicaEventFields {
  readonly type: 'replica-terminate';
  readonly reason: string;
}
/** The cloud reclaimed the spot replica. */
export interface ReplicaPreemptEvent extends ReplicaEventFields {
  readonly type: 'replica-preempt';
  readonly reason: string;
}
/** The replica failed and will be replaced. */
export interface ReplicaFailEvent extends ReplicaEventFields {
  readonly type: 'replica-fail';
  readonly reason: string;
}
/** The provider announced it will reclaim this spot replica. */
export interface ReplicaInterruptEvent extends ReplicaEventFields {
  readonly type: 'replica-interrupt';
  readonly deadline: number | undefined;
}
/** A launch was rejected. Nothing billable exists for it. */
export interface LaunchFailEvent extends EngineEventBase {
  readonly type: 'launch-fail';
  readonly replicaId: string;
  readonly provider: string;
  readonly location: string;
  readonly capacityType: CapacityType;
  readonly reason: 'capacity' | 'quota' | 'other';
  readonly error: unknown;
}
/** Spot in this location looks unavailable (a preemption or a capacity failure there). */
export interface LocationPreemptEvent extends EngineEventBase {
  readonly type: 'location-preempt';
  readonly location: string;
  readonly cause: 'preemption' | 'capacity';
}
/** A spot launch succeeded again in a location marked preempted. */
export interface LocationRecoverEvent extends EngineEventBase {
  readonly type: 'location-recover';
  readonly location: string;
}
/** More on-demand replicas than the base are alive: on-demand is covering for spot. */
export interface FallbackStartEvent extends EngineEventBase {
  readonly type: 'fallback-start';
  readonly onDemand: number;
  readonly base: number;
}
/** On-demand back to the base count. */
export interface FallbackEndEvent extends EngineEventBase {
  readonly type: 'fallback-end';
  readonly onDemand: number;
  readonly base: number;
}
/** The autoscaler moved the target. */
export interface TargetChangeEvent extends EngineEventBase {
  readonly type: 'target-change';
  readonly from: number;
  readonly to: number;
}
/** An instance with our tags that no replica owns any more was terminated (e.g. a twin). */
export interface InstanceTerminateEvent extends EngineEventBase {
  readonly type: 'instance-terminate';
  readonly provider: string;
  readonly instanceId: string;
  readonly replicaId: string | undefined;
  readonly reason: string;
}
/** A reconcile tick failed (it is retried on the next tick). */
export interface ReconcileFailEvent extends EngineEventBase {
  readonly type: 'reconcile-fail';
  readonly error: unknown;
}
/** This host became the leader (lease acquired at `epoch`). */
export interface LeaseAcquireEvent extends EngineEventBase {
  readonly type: 'lease-acquire';
  readonly epoch: number;
}
/** This host lost the leader lease and stopped acting on the cloud. */
export interface LeaseLoseEvent extends EngineEventBase {
  readonly type: 'lease-lose';
  readonly epoch: number;
}
/** An event handler threw (or rejected). Never emitted for failures of its own handlers. */
export interface HandlerFailEvent extends EngineEventBase {
  readonly type: 'handler-fail';
  readonly event: string;
  readonly error: unknown;
}

/** Every engine event, by name. */
export interface EngineEventMap {
  'replica-launch': ReplicaLaunchEvent;
  'replica-adopt': ReplicaAdoptEvent;
  'replica-ready': ReplicaReadyEvent;
  'replica-degrade': ReplicaDegradeEvent;
  'replica-drain': ReplicaDrainEvent;
  'replica-terminate': ReplicaTerminateEvent;
  'replica-preempt': ReplicaPreemptEvent;
  'replica-fail': ReplicaFailEvent;
  'replica-interrupt': ReplicaInterruptEvent;
  'launch-fail': LaunchFailEvent;
  'location-preempt': LocationPreemptEvent;
  'location-recover': LocationRecoverEvent;
  'fallback-start': FallbackStartEvent;
  'fallback-end': FallbackEndEvent;
  'target-change': TargetChangeEvent;
  'instance-terminate': InstanceTerminateEvent;
  'reconcile-fail': ReconcileFailEvent;
  'lease-acquire': LeaseAcquireEvent;
  'lease-lose': LeaseLoseEvent;
  'handler-fail': HandlerFailEvent;
}

export type EngineEventName = keyof EngineEventMap;
export type EngineEvent = EngineEventMap[EngineEventName];

/** All event names, for iteration (e.g. to log everything). */
export const ENGINE_EVENT_NAMES: readonly EngineEventName[] = [
  'replica-launch',
  'replica-adopt',
  'replica-ready',
  'replica-degrade',
  'replica-drain',
  'replica-terminate',
  'replica-preempt',
  'replica-fail',
  'replica-interrupt',
  'launch-fail',
  'location-preempt',
  'location-recover',
  'fallback-start',
  'fallback-end',
  'target-change',
  'instance-terminate',
  'reconcile-fail',
  'lease-acquire',
  'lease-lose',
  'handler-fail',
];

/**
 * An event handler. Its return value is ignored, except that a returned promise that
 * rejects is reported like a throw.
 */
export type EngineEventHandler<Name extends EngineEventName> = (
  event: EngineEventMap[Name],
) => unknown;
