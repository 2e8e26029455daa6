/**
 * The provider specification, version 1. A provider is a thin, stateless-as-possible
 * adapter over one cloud API: it reports facts (offerings, instances and their states)
 * and carries out launch/terminate requests. The SDK owns replica status and lifecycle.
 *
 * Versioned by name and by the `specificationVersion` literal so later versions can live
 * beside it and be adapted.
 */

/** Whether an instance is a spot (preemptible) or an on-demand (regular) instance. */
export type CapacityType = 'spot' | 'on-demand';

/** Both capacity types, in a stable order. */
export const CAPACITY_TYPES: readonly CapacityType[] = ['spot', 'on-demand'];

/**
 * A failure domain where instances can be launched: a zone of a region of a cloud (or a
 * region, for clouds without zones).
 */
export interface Location {
  /**
   * Stable id, unique across providers: `<cloud>/<region>/<zone>` or `<cloud>/<region>`.
   * @example 'aws/us-east-1/us-east-1a'
   */
  readonly id: string;
  readonly cloud: string;
  readonly region: string;
  readonly zone?: string | undefined;
}

/** Something this provider can launch somewhere, at a price. */
export interface Offering {
  /** {@link Location.id} of the location. */
  readonly location: string;
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  /** Price per instance-hour in USD, as of `priceAsOf` (epoch ms) when known. */
  readonly hourlyPrice: number;
  readonly priceAsOf?: number | undefined;
}

/**
 * Facts a provider reports about one instance.
 * - `pending`: accepted by the cloud, not yet running (booting, allocating).
 * - `running`: the machine runs; the SDK probes it for readiness.
 * - `stopping`: shutting down (either by us, or by the cloud ahead of a preemption).
 * - `preempted`: the cloud reclaimed a spot instance.
 * - `terminated`: gone for another reason (terminated by us or a user).
 * An instance absent from `list` is gone.
 */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'preempted' | 'terminated';

export interface Instance {
  /** The cloud's id for the instance. */
  readonly id: string;
  /** {@link Location.id}. */
  readonly location: string;
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  readonly state: InstanceState;
  /** The cloud's own reason for the state, when it gives one (e.g. `Server.SpotInstanceTermination`). */
  readonly stateReason?: string | undefined;
  /** Every tag (label) on the instance, including the ownership tags. */
  readonly tags: Readonly<Record<string, string>>;
  /** Epoch ms at which the cloud accepted the launch. */
  readonly launchedAt: number;
  /**
   * Base URL the replica serves on once running, e.g. `http://10.0.0.5:8080`. Absent while
   * the cloud has not assigned an address.
   */
  readonly endpoint?: string | undefined;
}

/** Per-call context: every provider call can be aborted. */
export interface CallContext {
  readonly abortSignal?: AbortSignal | undefined;
}

export interface LaunchRequest {
  /** {@link Location.id} to launch in: exactly one location. */
  readonly location: string;
  readonly capacityType: CapacityType;
  /** Instance type; a provider configured for one type may ignore it. */
  readonly instanceType: string;
  /**
   * Tags to put on the instance at creation time (atomically with the launch, never as a
   * second call). Always contains the {@link OwnershipTag} keys, and the
   * {@link ReplicaTag.Port} tag when the service has a port: `list` reads it back to build
   * `endpoint` (see {@link replicaEndpoint}).
   */
  readonly tags: Readonly<Record<string, string>>;
  /** Shell script (or cloud-init) to run at boot, if the provider supports one. */
  readonly startupScript?: string | undefined;
  /**
   * Caller-chosen key, unique per intended instance (≤ 64 chars of `[a-z0-9-]`). Launching
   * twice with the same key must yield the same single instance, never a twin.
   */
  readonly idempotencyKey: string;
}

export interface ListRequest {
  /** Only instances carrying every one of these tags are returned. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface TerminateRequest {
  readonly instanceId: string;
  /**
   * The ownership tags the instance must carry. A provider must refuse (with
   * `NotOwnedError`) to terminate an instance that lacks any of them.
   */
  readonly tags: Readonly<Record<string, string>>;
}

/** Advance warning that the cloud will reclaim a spot instance. */
export interface InterruptionNotice {
  readonly instanceId: string;
  /** Epoch ms at which the instance will be reclaimed, when known. */
  readonly deadline?: number | undefined;
  /** Epoch ms at which the notice was issued. */
  readonly noticedAt: number;
}

/**
 * A cloud provider, version 1 of the spec.
 *
 * Failure semantics shared by every method: errors are `SpotHedgeError` subclasses from
 * `@spothedge/core` — `CapacityUnavailableError`, `QuotaExceededError`, `ThrottledError`
 * (retryable), `AuthError`, `InvalidConfigError`, `NotOwnedError`, `ProviderError`
 * (anything else, with the original as `cause`; retryable for 5xx and network errors).
 * A call aborted through `abortSignal` rejects with `AbortedError`.
 */
export interface ProviderV1 {
  readonly specificationVersion: 'v1';
  /** Provider id, also the cloud part of its location ids, e.g. `aws`. */
  readonly name: string;

  /** The locations this provider is configured for. Never throws. */
  locations(): readonly Location[];

  /**
   * What can be launched where, with hourly prices. May call the cloud's price API (and
   * cache). On failure, rejects; the SDK keeps the last known offerings.
   */
  offerings(context?: CallContext): Promise<readonly Offering[]>;

  /**
   * Launches one instance in one location, tagged at creation.
   *
   * Idempotent under `idempotencyKey`: a second call with the same key returns the same
   * instance (in whatever state it is now). If `launch` rejects, nothing billable exists
   * for that key — unless the rejection is an abort or a network failure after the cloud
   * may have accepted the request, in which case `list` will show the instance (tagged),
   * and the caller adopts it. Capacity errors reject at once (no internal retry).
   */
  launch(request: LaunchRequest, context?: CallContext): Promise<Instance>;

  /**
   * Lists every instance carrying all of `request.tags`, across all configured locations
   * and pages, including recently preempted and terminated ones the cloud still reports.
   * The source of truth for recovery. Rejects rather than returning a partial list.
   */
  list(request: ListRequest, context?: CallContext): Promise<readonly Instance[]>;

  /**
   * Terminates an instance. Idempotent: resolves if the instance is already terminated or
   * unknown. Rejects with `NotOwnedError` — and does nothing — if the instance exists but
   * does not carry every one of `request.tags`.
   */
  terminate(request: TerminateRequest, context?: CallContext): Promise<void>;

  /**
   * Optional capability: current interruption notices for this service's spot instances
   * (those carrying `request.tags`). Polled once per reconcile tick.
   */
  interruptions?(
    request: ListRequest,
    context?: CallContext,
  ): Promise<readonly InterruptionNotice[]>;

  /** Optional: releases clients, sockets and timers. Called by `service.stop()`. */
  close?(): Promise<void>;
}

/** Tag keys that mark an instance as ours. Valid as AWS tags, GCP labels and Azure tags. */
export const OwnershipTag = {
  /** Always `spothedge`. */
  ManagedBy: 'spothedge-managed-by',
  /** The service name. */
  Service: 'spothedge-service',
  /** The replica id. */
  Replica: 'spothedge-replica',
  /** `spot` or `on-demand`. */
  CapacityType: 'spothedge-capacity-type',
} as const;

export const MANAGED_BY_VALUE = 'spothedge';

/**
 * Tags the SDK adds to a launch beside the ownership tags. They describe the replica; they
 * are not checked for ownership.
 */
export const ReplicaTag = {
  /** The port the replica serves on (the service spec's `port`), as decimal digits. */
  Port: 'spothedge-port',
} as const;

/** The port in an instance's {@link ReplicaTag.Port} tag, or undefined if absent or invalid. */
export function replicaPortOf(tags: Readonly<Record<string, string>>): number | undefined {
  const value = tags[ReplicaTag.Port];
  if (value === undefined || !/^[0-9]{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/**
 * The base URL a replica serves on, for {@link Instance.endpoint}: `http://<address>:<port>`
 * (an IPv6 address in brackets). The port is `port` when given (a provider setting that
 * overrides the service's), else the instance's {@link ReplicaTag.Port} tag. Undefined
 * without an address or a port.
 *
 * @example
 * ```ts
 * replicaEndpoint({ address: '10.0.0.5', tags: { 'spothedge-port': '8081' } }); // 'http://10.0.0.5:8081'
 * ```
 */
export function replicaEndpoint(options: {
  readonly address: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly port?: number | undefined;
}): string | undefined {
  const { address } = options;
  const port = options.port ?? replicaPortOf(options.tags);
  if (address === undefined || address === '' || port === undefined) return undefined;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** The tags every instance of `service` carries (used to list and to check ownership). */
export function serviceOwnershipTags(service: string): Record<string, string> {
  return { [OwnershipTag.ManagedBy]: MANAGED_BY_VALUE, [OwnershipTag.Service]: service };
}

/** The tags one replica's instance is created with. */
export function replicaOwnershipTags(options: {
  service: string;
  replicaId: string;
  capacityType: CapacityType;
}): Record<string, string> {
  // A literal, not a spread of serviceOwnershipTags(): one object shape, built per launch.
  return {
    [OwnershipTag.ManagedBy]: MANAGED_BY_VALUE,
    [OwnershipTag.Service]: options.service,
    [OwnershipTag.Replica]: options.replicaId,
    [OwnershipTag.CapacityType]: options.capacityType,
  };
}

/** Whether `tags` contains every entry of `required`. */
export function hasTags(
  tags: Readonly<Record<string, string>>,
  required: Readonly<Record<string, string>>,
): boolean {
  // Called per instance per listing: no entries array.
  for (const key in required) {
    if (Object.hasOwn(required, key) && tags[key] !== required[key]) return false;
  }
  return true;
}

/**
 * Whether an instance with `tags` may be terminated on behalf of the owner whose tags are
 * `required`. Unlike {@link hasTags}, an empty `required` owns nothing: a terminate request
 * without ownership tags must be refused, never read as "matches everything".
 */
export function isOwnedBy(
  tags: Readonly<Record<string, string>>,
  required: Readonly<Record<string, string>>,
): boolean {
  return Object.keys(required).length > 0 && hasTags(tags, required);
}

/** Builds a location id from its parts. */
export function locationId(cloud: string, region: string, zone?: string): string {
  return zone === undefined ? `${cloud}/${region}` : `${cloud}/${region}/${zone}`;
}

/** Splits a location id into its parts. */
export function parseLocationId(id: string): Location {
  const [cloud = '', region = '', zone] = id.split('/');
  return zone === undefined ? { id, cloud, region } : { id, cloud, region, zone };
}
