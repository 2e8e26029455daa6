/**
 * The state-store contract: where a service keeps its replicas, its launch intents, its
 * policy state and its leader lease. In memory for tests ({@link MemoryStateStore}),
 * SQLite for one host (`@spothedge/store-sqlite`), PostgreSQL for many.
 *
 * Every implementation must pass `runStateStoreContractSuite` from
 * `@spothedge/core/testing`.
 */
import type { CallContext, CapacityType } from '../provider.js';
import type { JsonValue } from '../policy/types.js';
import type { ReplicaState } from './replica-state.js';

/** One replica as stored. The engine's own bookkeeping, serializable as JSON. */
export interface ReplicaRecord {
  /** Replica id, `[a-z0-9-]`, also the `spothedge-replica` tag of its instance. */
  readonly id: string;
  /** {@link ProviderV1.name} of the provider that owns the instance. */
  readonly provider: string;
  /** Location id. */
  readonly location: string;
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  /** The key the launch used (and reuses when relaunched after a crash). */
  readonly idempotencyKey: string;
  /** Epoch ms when the launch was requested (or the instance adopted). */
  readonly launchedAt: number;
  /** Lifecycle snapshot. */
  readonly state: ReplicaState;
  /** The last instance id known; kept in final states until the instance is released. */
  readonly instanceId?: string | undefined;
  /** Base URL of the replica, once the provider reports one. */
  readonly endpoint?: string | undefined;
  /** Epoch ms of the interruption notice, if the provider sent one. */
  readonly interruptionNoticedAt?: number | undefined;
  /**
   * For final states: `true` once the instance is known to be released (terminate call
   * succeeded or the provider no longer reports it alive). Records that are final and
   * released are deleted.
   */
  readonly released?: boolean | undefined;
}

/**
 * A launch intent, written before the provider is asked to launch. On restart every
 * intent is resolved: the tagged instance exists → adopted; no instance → relaunched with
 * the same key (idempotent) or dropped.
 */
export interface LaunchIntent {
  /** The idempotency key passed to `provider.launch`; unique. */
  readonly idempotencyKey: string;
  readonly replicaId: string;
  readonly provider: string;
  readonly location: string;
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  /** Epoch ms when the intent was written. */
  readonly createdAt: number;
}

/** Everything stored for one service. */
export interface StoredServiceState {
  readonly replicas: readonly ReplicaRecord[];
  readonly intents: readonly LaunchIntent[];
  /** The last {@link Policy.snapshot}, if one was saved. */
  readonly policyState: JsonValue | undefined;
}

/**
 * A batch of changes applied atomically (one transaction). Upserts are keyed by replica id
 * and intent key; deletes of unknown keys are no-ops. Deletes apply before upserts.
 */
export interface StateWrite {
  readonly replicas?: readonly ReplicaRecord[] | undefined;
  readonly deleteReplicas?: readonly string[] | undefined;
  readonly intents?: readonly LaunchIntent[] | undefined;
  /** Idempotency keys of intents to delete. */
  readonly deleteIntents?: readonly string[] | undefined;
  readonly policyState?: JsonValue | undefined;
}

/**
 * The leader lease of one service. Only the holder of the current lease acts on the
 * cloud; `epoch` increases every time the lease changes hands (fencing token), so a
 * paused old leader's writes are refused once someone else took over.
 */
export interface Lease {
  readonly service: string;
  /** Who holds it (host id). */
  readonly holder: string;
  /** Fencing epoch: strictly increases with every acquisition by a new holder. */
  readonly epoch: number;
  /** Epoch ms after which anyone may take the lease over. */
  readonly expiresAt: number;
}

export interface AcquireLeaseRequest {
  readonly service: string;
  readonly holder: string;
  /** How long the lease lasts from `now`. */
  readonly ttlMs: number;
  /**
   * The caller's clock. Stores that share time across hosts (PostgreSQL) may use their
   * own clock instead; the in-memory and SQLite stores use this value so virtual time
   * works.
   */
  readonly now: number;
}

export interface RenewLeaseRequest {
  readonly ttlMs: number;
  readonly now: number;
}

export interface WriteOptions extends CallContext {
  /**
   * Fence the write with this lease: it is applied only while `lease.epoch` is still the
   * service's current epoch and `lease.holder` its holder; otherwise the store rejects with
   * `LeaseLostError` and applies nothing.
   */
  readonly fence?: Lease | undefined;
}

/**
 * Where a service keeps its state. All methods are safe to call concurrently; `write` is
 * atomic. One store may hold many services (keyed by `service`).
 */
export interface StateStore {
  /** Everything stored for `service` (empty lists and `undefined` policy state if none). */
  load(service: string, context?: CallContext): Promise<StoredServiceState>;
  /**
   * Applies `write` atomically.
   * @throws {LeaseLostError} when `options.fence` is given and no longer current.
   */
  write(service: string, write: StateWrite, options?: WriteOptions): Promise<void>;
  /**
   * Takes the lease if it is free, expired, or already held by `request.holder` (then it is
   * extended and keeps its epoch). A new holder gets `epoch = previous + 1`. Resolves
   * `undefined` when someone else holds a live lease.
   */
  acquireLease(request: AcquireLeaseRequest, context?: CallContext): Promise<Lease | undefined>;
  /**
   * Extends a lease this holder still holds (same holder and epoch, even if expired as long
   * as nobody took it over).
   * @throws {LeaseLostError} otherwise.
   */
  renewLease(lease: Lease, request: RenewLeaseRequest, context?: CallContext): Promise<Lease>;
  /** Gives the lease up (no-op if it is no longer held by `lease.holder` at `lease.epoch`). */
  releaseLease(lease: Lease, context?: CallContext): Promise<void>;
  /** Releases connections and file handles. Further calls reject. */
  close(): Promise<void>;
}
