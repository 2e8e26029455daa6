/**
 * The reconciler. One {@link ReplicaManager.reconcile} call is one tick: read the
 * providers' truth, resolve launch intents, probe readiness, move each replica through
 * its lifecycle ({@link transition}), detect preemptions, ask the target source and the
 * policy for a plan, carry it out, persist what changed and emit events.
 *
 * The same class runs on the wall clock in production and on a virtual clock in the
 * simulator, which calls `reconcile()` directly many thousands of times: a steady tick
 * does O(replicas) work, allocates little and writes nothing to the store.
 */
import { randomUUID } from 'node:crypto';
import { getEventListeners, setMaxListeners } from 'node:events';
import { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import pRetry from 'p-retry';
import { SystemClock } from '../clock.js';
import type { Clock, TimerHandle } from '../clock.js';
import {
  AbortedError,
  CapacityUnavailableError,
  IllegalStateError,
  InvalidArgumentError,
  LeaseLostError,
  ProviderError,
  QuotaExceededError,
  SpotHedgeError,
  ThrottledError,
  describeValue,
} from '../errors.js';
import {
  MANAGED_BY_VALUE,
  OwnershipTag,
  ReplicaTag,
  hasTags,
  replicaOwnershipTags,
  serviceOwnershipTags,
} from '../provider.js';
import type {
  CapacityType,
  Instance,
  InterruptionNotice,
  Location,
  Offering,
  ProviderV1,
} from '../provider.js';
import { isAlive } from '../policy/types.js';
import type {
  FleetView,
  JsonValue,
  LocationView,
  Plan,
  Policy,
  PolicyEvent,
  ReplicaStatus,
  ReplicaView,
} from '../policy/types.js';
import { SeededRandom } from '../random.js';
import type {
  EngineEvent,
  EngineEventHandler,
  EngineEventMap,
  EngineEventName,
  ReplicaEventFields,
} from './engine-events.js';
import { childLogger, silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { MemoryStateStore } from './memory-state-store.js';
import { HttpProber, resolveReadinessProbe } from './prober.js';
import type {
  ProbeContext,
  ProbeTarget,
  Prober,
  ReadinessProbeOptions,
  ResolvedReadinessProbe,
} from './prober.js';
import { instanceIdOf, isFinalStatus, transition } from './replica-state.js';
import type { ReplicaState, ReplicaTransitionEvent } from './replica-state.js';
import type { LaunchIntent, Lease, ReplicaRecord, StateStore, StateWrite } from './state-store.js';

/** Where the replica target comes from: a fixed number or an autoscaler. */
export interface TargetSource {
  /** The target at `now`; called once per tick. */
  evaluate(now: number): number;
}

/** Retry settings for retryable provider errors (throttling, 5xx, network, timeouts). */
export interface RetryOptions {
  /**
   * Retries after the first attempt.
   * @default 3
   */
  readonly retries?: number | undefined;
  /**
   * First backoff delay (doubled per retry, with jitter).
   * @default 500
   */
  readonly minDelayMs?: number | undefined;
  /**
   * Largest backoff delay.
   * @default 10_000
   */
  readonly maxDelayMs?: number | undefined;
}

/** Leader election through the store's lease (for many hosts sharing one store). */
export interface LeaseOptions {
  /** This host's id. */
  readonly holder: string;
  /**
   * Lease length; renewed every tick, so it must exceed the tick interval comfortably.
   * @default 30_000
   */
  readonly ttlMs?: number | undefined;
  /**
   * Never take the lease: this host only routes, from the replica table the leader keeps
   * in the shared store, and never calls a provider.
   * @default false
   */
  readonly routerOnly?: boolean | undefined;
}

/** Options of {@link ReplicaManager}. */
export interface ReplicaManagerOptions {
  /** Service name, put on every instance as the `spothedge-service` tag. `[a-z0-9-]`, ≤ 63. */
  readonly service: string;
  /** Providers to launch on; their names must differ. */
  readonly providers: readonly ProviderV1[];
  readonly policy: Policy;
  /** @default new MemoryStateStore() */
  readonly store?: StateStore | undefined;
  /** @default new SystemClock() */
  readonly clock?: Clock | undefined;
  /** @default new HttpProber({ readinessProbe }) */
  readonly prober?: Prober | undefined;
  /** When and how often replicas are probed. */
  readonly readinessProbe?: ReadinessProbeOptions | undefined;
  /**
   * Ready replicas the service needs: a fixed number or a {@link TargetSource} such as the
   * `Autoscaler`.
   * @default 1
   */
  readonly target?: number | TargetSource | undefined;
  /**
   * Hard cap on alive replicas of all kinds, handed to the policy as `view.maxReplicas`.
   * @default 2 × the fixed target + 2, or 20 with a target source
   */
  readonly maxReplicas?: number | undefined;
  /**
   * Candidate location ids. Default: every location of every provider.
   * @default undefined
   */
  readonly locations?: readonly string[] | undefined;
  /**
   * Acceptable instance types; per location and capacity type the cheapest offered one is
   * used. Default: any offered type.
   * @default undefined
   */
  readonly instanceTypes?: readonly string[] | undefined;
  /** Startup script (or cloud-init) passed to every launch. */
  readonly startupScript?: string | undefined;
  /**
   * Port the replicas serve on, written to every launch's {@link ReplicaTag.Port} tag
   * (providers build `endpoint` from it). Without it no port tag is written.
   * @default undefined
   */
  readonly replicaPort?: number | undefined;
  /**
   * Time between ticks of the `start()` loop.
   * @default 10_000
   */
  readonly tickIntervalMs?: number | undefined;
  /**
   * How long a scaled-down replica keeps finishing in-flight requests before termination.
   * @default 30_000
   */
  readonly drainMs?: number | undefined;
  /**
   * Concurrent launch/terminate calls per provider.
   * @default 16
   */
  readonly concurrency?: number | undefined;
  readonly retry?: RetryOptions | undefined;
  /**
   * Time budget of one provider call (each attempt).
   * @default 120_000
   */
  readonly callTimeoutMs?: number | undefined;
  /**
   * How long an unresolved launch intent is relaunched (same key) before it is dropped.
   * @default 600_000
   */
  readonly intentTtlMs?: number | undefined;
  /**
   * How long after a launch an instance may be missing from `list` (eventual consistency)
   * before it counts as vanished.
   * @default 60_000
   */
  readonly listGraceMs?: number | undefined;
  /**
   * On-demand replicas the policy keeps anyway; more than this means "fallback" (for the
   * `fallback-start` / `fallback-end` events).
   * @default 0
   */
  readonly baseOnDemand?: number | undefined;
  /**
   * How often offerings (prices) are refreshed.
   * @default 600_000
   */
  readonly offeringsRefreshMs?: number | undefined;
  /**
   * Concurrent readiness probes.
   * @default 64
   */
  readonly probeConcurrency?: number | undefined;
  /** Leader election; without it this manager assumes it is the only one. */
  readonly lease?: LeaseOptions | undefined;
  /** @default silent */
  readonly logger?: Logger | undefined;
  /**
   * Seed of the backoff jitter (virtual-time runs stay reproducible).
   * @default 0
   */
  readonly seed?: number | undefined;
  /**
   * New replica ids (`[a-z0-9-]`, ≤ 48 chars, unique across restarts).
   * @default `r-` + 16 random hex digits
   */
  readonly idGenerator?: (() => string) | undefined;
  /**
   * Called at the end of a tick whenever the ready set changed (the service feeds its
   * router from it).
   */
  readonly onReadyChange?: ((replicas: readonly ReadyReplica[]) => void) | undefined;
}

/** A ready replica, as the router needs it. */
export interface ReadyReplica {
  readonly id: string;
  /** Base URL. */
  readonly endpoint: string;
  readonly location: string;
  readonly capacityType: CapacityType;
  readonly provider: string;
  readonly instanceId: string;
}

/** One replica in {@link ReplicaManager.status}. */
export interface ReplicaSnapshot {
  readonly id: string;
  readonly status: ReplicaStatus;
  readonly state: ReplicaState;
  readonly provider: string;
  readonly location: string;
  readonly capacityType: CapacityType;
  readonly instanceType: string;
  readonly instanceId: string | undefined;
  readonly endpoint: string | undefined;
  readonly launchedAt: number;
  /** Hourly price, when known. */
  readonly hourlyPrice: number | undefined;
}

/** What {@link ReplicaManager.status} reports. */
export interface ManagerStatus {
  readonly service: string;
  /** `idle` (constructed), `running` (loop on), `stopped`, `destroyed`. */
  readonly state: 'idle' | 'running' | 'stopped' | 'destroyed';
  /** Whether this host acts on the cloud (always true without a lease). */
  readonly leader: boolean;
  readonly target: number;
  readonly replicas: readonly ReplicaSnapshot[];
  readonly countsByStatus: Readonly<Partial<Record<ReplicaStatus, number>>>;
  /** Sum of hourly prices of replicas that hold an instance. */
  readonly costPerHour: number;
  /** Ticks completed. */
  readonly ticks: number;
}

/** Options of {@link ReplicaManager.stop}. */
export interface ReplicaManagerStopOptions {
  /**
   * Terminate every replica (ready ones drain first) and sweep any instance with this
   * service's tags. `false` leaves the fleet running for the next start to adopt.
   * @default false
   */
  readonly terminate?: boolean | undefined;
  /** Aborts waiting for drains and calls. */
  readonly signal?: AbortSignal | undefined;
}

interface Tracked {
  readonly id: string;
  /** `state.status`, kept beside it so fleet-wide passes need not read `state`. */
  status: ReplicaStatus;
  readonly provider: ProviderV1;
  readonly location: string;
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  readonly idempotencyKey: string;
  readonly launchedAt: number;
  state: ReplicaState;
  /** The last instance id known (kept in final states, for the cleanup terminate). */
  instanceId: string | undefined;
  endpoint: string | undefined;
  interruptionNoticedAt: number | undefined;
  released: boolean;
  /** Runtime only. */
  intent: LaunchIntent | undefined;
  launching: boolean;
  terminateCall: boolean;
  launchAttempts: number;
  seenInList: boolean;
  /** `#observe` round in which `listed` was found (runtime only). */
  listRound: number;
  listed: Instance | undefined;
  nextProbeAt: number;
  suspect: boolean;
  dirty: boolean;
  view: ReplicaView | undefined;
  probeTarget: ProbeTarget | undefined;
}

/** A provider call in flight (see `ReplicaManager.#callBatch`). */
interface PendingCall {
  readonly label: string;
  readonly fail: (error: Error) => void;
}

/** Provider calls started at one clock instant: one abort signal, one timeout timer. */
interface CallBatch {
  readonly at: number;
  readonly controller: AbortController;
  readonly calls: Set<PendingCall>;
  timer: TimerHandle | undefined;
  readonly onStop: () => void;
}

interface PriceEntry {
  readonly instanceType: string;
  readonly hourlyPrice: number;
}

const ALIVE_INSTANCE: ReadonlySet<string> = new Set(['pending', 'running']);

function positiveInteger(argument: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be an integer >= ${min}, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

function nonNegativeNumber(argument: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a number >= 0, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether retrying the same call may succeed. Unknown errors count as network trouble. */
function isRetryable(error: unknown): boolean {
  if (AbortedError.isInstance(error)) return false;
  if (SpotHedgeError.isInstance(error)) return error.retryable;
  return true;
}

function failureReason(error: unknown): 'capacity' | 'quota' | 'other' {
  if (CapacityUnavailableError.isInstance(error)) return 'capacity';
  if (QuotaExceededError.isInstance(error)) return 'quota';
  return 'other';
}

/**
 * Runs a service's replicas: the reconciler.
 *
 * @example
 * ```ts
 * const manager = new ReplicaManager({
 *   service: 'chat',
 *   providers: [provider],
 *   policy: new SpotHedgePolicy(),
 *   target: 3,
 * });
 * manager.on('replica-preempt', (event) => console.log(event.replicaId, event.location));
 * await manager.start();
 * // ...
 * await manager.stop({ terminate: true });
 * ```
 */
export class ReplicaManager {
  readonly service: string;
  readonly policy: Policy;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly #providers: ReadonlyMap<string, ProviderV1>;
  /** Providers with the `interruptions` capability (polled each tick). */
  readonly #noticeProviders: readonly ProviderV1[];
  readonly #prober: Prober;
  readonly #ownsProber: boolean;
  readonly #probe: ResolvedReadinessProbe;
  readonly #target: TargetSource;
  readonly #maxReplicas: number;
  readonly #candidateLocations: ReadonlySet<string> | undefined;
  readonly #instanceTypes: ReadonlySet<string> | undefined;
  readonly #startupScript: string | undefined;
  readonly #replicaPort: string | undefined;
  readonly #tickIntervalMs: number;
  readonly #drainMs: number;
  readonly #retries: number;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #callTimeoutMs: number;
  readonly #intentTtlMs: number;
  readonly #listGraceMs: number;
  readonly #baseOnDemand: number;
  readonly #offeringsRefreshMs: number;
  readonly #probeConcurrency: number;
  readonly #leaseOptions:
    { readonly holder: string; readonly ttlMs: number; readonly routerOnly: boolean } | undefined;
  readonly #logger: Logger;
  readonly #random: SeededRandom;
  readonly #newId: () => string;
  readonly #serviceTags: Readonly<Record<string, string>>;
  readonly #queues = new Map<string, PQueue>();
  readonly #emitter = new EventEmitter();
  readonly #abort = new AbortController();
  /** Aborts in-flight calls on destroy (a Set: cheaper than one listener per call). */
  readonly #stopHooks = new Set<() => void>();

  readonly #replicas = new Map<string, Tracked>();
  /** Replica ids we released; an alive instance carrying one is terminated, not adopted. */
  readonly #tombstones = new Map<string, number>();
  readonly #preemptedLocations = new Set<string>();
  #locationViews: readonly LocationView[] = [];
  readonly #prices = new Map<string, PriceEntry>();
  #offeringsAt = Number.NEGATIVE_INFINITY;
  #lastPolicyState: JsonValue | undefined;
  #pendingDeletes: string[] = [];
  #pendingIntentDeletes: string[] = [];
  #pendingIntentWrites: LaunchIntent[] = [];
  #currentTarget = 0;
  #fallbackActive = false;
  #readyVersion = 0;
  #readyCache: { version: number; replicas: readonly ReadyReplica[] } | undefined;
  #recovered = false;
  #lease: Lease | undefined;
  #ticks = 0;
  #listRound = 0;
  /** Changes whenever a replica's view or the set of replicas changes (see #planAndAct). */
  #fleetVersion = 0;
  /** Changes whenever a replica enters or leaves the table (see #observe's hints). */
  #membershipVersion = 0;
  readonly #listHints = new Map<
    ProviderV1,
    { readonly version: number; readonly replicas: (Tracked | undefined)[] }
  >();
  #views: { version: number; replicas: readonly ReplicaView[]; alive: number } | undefined;
  #currentBatch: CallBatch | undefined;
  readonly #spareControllers: AbortController[] = [];
  #eventSequence = 0;
  #chain: Promise<void> = Promise.resolve();
  #state: 'idle' | 'running' | 'stopped' | 'destroyed' = 'idle';
  #timer: TimerHandle | undefined;
  #loopTick: Promise<void> | undefined;
  readonly #inflight = new Set<Promise<void>>();
  readonly #onReadyChange: ((replicas: readonly ReadyReplica[]) => void) | undefined;
  #notifiedReadyVersion = 0;

  constructor(options: ReplicaManagerOptions) {
    if (typeof options.service !== 'string' || !SERVICE_NAME.test(options.service)) {
      throw new InvalidArgumentError(
        `Expected \`service\` to match ${SERVICE_NAME}, got ${describeValue(options.service)}`,
        { argument: 'service', value: options.service },
      );
    }
    if (!Array.isArray(options.providers) || options.providers.length === 0) {
      throw new InvalidArgumentError(
        `Expected \`providers\` to be a non-empty array, got ${describeValue(options.providers)}`,
        { argument: 'providers', value: options.providers },
      );
    }
    const providers = new Map<string, ProviderV1>();
    for (const provider of options.providers) {
      if (provider?.specificationVersion !== 'v1' || typeof provider.name !== 'string') {
        throw new InvalidArgumentError(
          `Expected every \`providers\` entry to be a ProviderV1, got ${describeValue(provider)}`,
          { argument: 'providers', value: provider },
        );
      }
      if (providers.has(provider.name)) {
        throw new InvalidArgumentError(
          `Expected \`providers\` names to differ, got ${describeValue(provider.name)} twice`,
          { argument: 'providers', value: provider.name },
        );
      }
      providers.set(provider.name, provider);
    }
    if (
      typeof options.policy !== 'object' ||
      options.policy === null ||
      typeof options.policy.plan !== 'function'
    ) {
      throw new InvalidArgumentError(
        `Expected \`policy\` to be a Policy, got ${describeValue(options.policy)}`,
        { argument: 'policy', value: options.policy },
      );
    }
    this.service = options.service;
    this.#providers = providers;
    this.#noticeProviders = [...providers.values()].filter(
      (provider) => typeof provider.interruptions === 'function',
    );
    this.policy = options.policy;
    this.store = options.store ?? new MemoryStateStore();
    this.clock = options.clock ?? new SystemClock();
    this.#probe = resolveReadinessProbe(options.readinessProbe);
    this.#ownsProber = options.prober === undefined;
    this.#prober = options.prober ?? new HttpProber({ readinessProbe: options.readinessProbe });
    const target = options.target ?? 1;
    if (typeof target === 'number') {
      positiveInteger('target', target, 1);
      this.#target = { evaluate: () => target };
    } else if (typeof target?.evaluate === 'function') {
      this.#target = target;
    } else {
      throw new InvalidArgumentError(
        `Expected \`target\` to be an integer >= 0 or a TargetSource, got ${describeValue(target)}`,
        { argument: 'target', value: target },
      );
    }
    this.#maxReplicas = positiveInteger(
      'maxReplicas',
      options.maxReplicas,
      typeof target === 'number' ? 2 * target + 2 : 20,
    );
    this.#candidateLocations =
      options.locations === undefined ? undefined : new Set(options.locations);
    this.#instanceTypes =
      options.instanceTypes === undefined ? undefined : new Set(options.instanceTypes);
    this.#startupScript = options.startupScript;
    const port: unknown = options.replicaPort;
    if (
      port !== undefined &&
      (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)
    ) {
      throw new InvalidArgumentError(
        `Expected \`replicaPort\` to be an integer from 1 to 65535, got ${describeValue(port)}`,
        { argument: 'replicaPort', value: port },
      );
    }
    this.#replicaPort = port?.toString();
    this.#tickIntervalMs = nonNegativeNumber('tickIntervalMs', options.tickIntervalMs, 10_000);
    this.#drainMs = nonNegativeNumber('drainMs', options.drainMs, 30_000);
    const concurrency = positiveInteger('concurrency', options.concurrency, 16, 1);
    this.#retries = positiveInteger('retry.retries', options.retry?.retries, 3);
    this.#minDelayMs = nonNegativeNumber('retry.minDelayMs', options.retry?.minDelayMs, 500);
    this.#maxDelayMs = nonNegativeNumber('retry.maxDelayMs', options.retry?.maxDelayMs, 10_000);
    this.#callTimeoutMs = nonNegativeNumber('callTimeoutMs', options.callTimeoutMs, 120_000);
    this.#intentTtlMs = nonNegativeNumber('intentTtlMs', options.intentTtlMs, 600_000);
    this.#listGraceMs = nonNegativeNumber('listGraceMs', options.listGraceMs, 60_000);
    this.#baseOnDemand = positiveInteger('baseOnDemand', options.baseOnDemand, 0);
    this.#offeringsRefreshMs = nonNegativeNumber(
      'offeringsRefreshMs',
      options.offeringsRefreshMs,
      600_000,
    );
    this.#probeConcurrency = positiveInteger('probeConcurrency', options.probeConcurrency, 64, 1);
    this.#leaseOptions =
      options.lease === undefined
        ? undefined
        : {
            holder: options.lease.holder,
            ttlMs: nonNegativeNumber('lease.ttlMs', options.lease.ttlMs, 30_000),
            routerOnly: options.lease.routerOnly === true,
          };
    this.#logger = childLogger(options.logger ?? silentLogger, { service: options.service });
    this.#random = new SeededRandom(options.seed ?? 0);
    this.#newId =
      options.idGenerator ?? (() => `r-${randomUUID().replaceAll('-', '').slice(0, 16)}`);
    this.#serviceTags = serviceOwnershipTags(options.service);
    this.#onReadyChange = options.onReadyChange;
    for (const name of providers.keys()) {
      this.#queues.set(name, new PQueue({ concurrency }));
    }
    // Retry sleeps listen on the stop signal.
    setMaxListeners(0, this.#abort.signal);
  }

  // ---------------------------------------------------------------- events

  /**
   * Subscribes to an event; returns the unsubscribe function. A handler that throws (or
   * rejects) is reported through `handler-fail` and the logger; the loop goes on.
   */
  on<Name extends EngineEventName>(name: Name, handler: EngineEventHandler<Name>): () => void {
    this.#emitter.on(name, handler);
    return () => {
      this.#emitter.off(name, handler);
    };
  }

  #emit<Name extends EngineEventName>(
    type: Name,
    fields: Omit<EngineEventMap[Name], 'id' | 'at' | 'service' | 'type'>,
  ): void {
    if (this.#emitter.listenerCount(type) === 0) return;
    const event = Object.freeze({
      type,
      id: `${this.service}-${++this.#eventSequence}`,
      at: this.clock.now(),
      service: this.service,
      ...fields,
    }) as unknown as EngineEventMap[Name];
    for (const listener of this.#emitter.listeners(type)) {
      try {
        const result = (listener as (event: EngineEvent) => unknown)(event);
        if (result !== null && typeof result === 'object' && 'then' in result) {
          (result as Promise<unknown>).then(undefined, (error: unknown) =>
            this.#reportHandlerError(type, error),
          );
        }
      } catch (error) {
        this.#reportHandlerError(type, error);
      }
    }
  }

  #reportHandlerError(type: EngineEventName, error: unknown): void {
    this.#logger.error({ err: error, event: type }, 'event handler failed');
    if (type !== 'handler-fail') this.#emit('handler-fail', { event: type, error });
  }

  #replicaFields(tracked: Tracked): Omit<ReplicaEventFields, 'id' | 'at' | 'service'> {
    return {
      replicaId: tracked.id,
      provider: tracked.provider.name,
      location: tracked.location,
      capacityType: tracked.capacityType,
      instanceId: tracked.instanceId,
    };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Whether the `start()` loop runs. */
  get running(): boolean {
    return this.#state === 'running';
  }

  /**
   * Runs the first tick (recovery: adopt tagged instances, resolve intents) and then a tick
   * every `tickIntervalMs` on the clock. Resolves after the first tick; a failed first
   * tick rejects (and the loop keeps trying).
   */
  async start(): Promise<void> {
    if (this.#state === 'destroyed') {
      throw new IllegalStateError('Cannot start a destroyed ReplicaManager', {
        state: 'destroyed',
      });
    }
    if (this.#state === 'running') return;
    this.#state = 'running';
    const first = this.reconcile();
    this.#loopTick = first.then(
      () => undefined,
      () => undefined,
    );
    try {
      await first;
    } finally {
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#state !== 'running') return;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== 'running') return;
      this.#loopTick = this.reconcile().then(
        () => this.#schedule(),
        (error: unknown) => {
          this.#logger.warn({ err: error }, 'reconcile tick failed');
          this.#emit('reconcile-fail', { error });
          this.#schedule();
        },
      );
    }, this.#tickIntervalMs);
  }

  /**
   * Exactly one tick. Calls are serialized: a call made during a tick runs after it.
   * Rejects when the tick failed (the next tick starts from fresh provider facts).
   */
  reconcile(): Promise<void> {
    const run = this.#chain.then(() => this.#tick());
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Stops the loop and waits for the current tick. With `terminate: true`, ready replicas
   * drain (`drainMs` on the clock), every replica is terminated and any instance still
   * carrying this service's tags is swept. Then releases the lease and the prober.
   */
  async stop(options: ReplicaManagerStopOptions = {}): Promise<void> {
    if (this.#state === 'destroyed') return;
    this.#state = 'stopped';
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#loopTick;
    await this.#chain;
    await this.idle();
    if (options.terminate === true && this.#isLeader()) {
      await this.#terminateAll(options.signal);
    }
    await this.#persist().catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'final persist failed');
    });
    if (this.#lease !== undefined) {
      await this.store.releaseLease(this.#lease).catch(() => undefined);
      this.#lease = undefined;
    }
    await this.#closeResources();
  }

  /** Stops at once: aborts provider calls, probes and waits; terminates nothing. */
  async destroy(): Promise<void> {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort(new AbortedError('ReplicaManager destroyed'));
    for (const hook of [...this.#stopHooks]) hook();
    this.#stopHooks.clear();
    await this.#chain;
    await this.idle();
    await this.#closeResources();
  }

  async #closeResources(): Promise<void> {
    if (this.#ownsProber) await this.#prober.close?.().catch(() => undefined);
  }

  // ---------------------------------------------------------------- reading

  /** The replicas the router may use; a new array only when the set changed. */
  readyReplicas(): readonly ReadyReplica[] {
    if (this.#readyCache?.version === this.#readyVersion) return this.#readyCache.replicas;
    const replicas: ReadyReplica[] = [];
    for (const tracked of this.#replicas.values()) {
      const state = tracked.state;
      if (state.status === 'ready' && tracked.endpoint !== undefined) {
        replicas.push({
          id: tracked.id,
          endpoint: tracked.endpoint,
          location: tracked.location,
          capacityType: tracked.capacityType,
          provider: tracked.provider.name,
          instanceId: state.instanceId,
        });
      }
    }
    this.#readyCache = { version: this.#readyVersion, replicas };
    return replicas;
  }

  /** Increases whenever the ready set (membership or endpoints) changes. */
  get readyVersion(): number {
    return this.#readyVersion;
  }

  /** The current target (as of the last tick). */
  get target(): number {
    return this.#currentTarget;
  }

  /** A snapshot of the fleet, for `service.status()` and metrics. */
  status(): ManagerStatus {
    const replicas: ReplicaSnapshot[] = [];
    const countsByStatus: Partial<Record<ReplicaStatus, number>> = {};
    let costPerHour = 0;
    for (const tracked of this.#replicas.values()) {
      const status = tracked.status;
      countsByStatus[status] = (countsByStatus[status] ?? 0) + 1;
      const price = this.#prices.get(`${tracked.location}|${tracked.capacityType}`)?.hourlyPrice;
      const instanceId = tracked.instanceId;
      if (instanceId !== undefined && !tracked.released && price !== undefined) {
        costPerHour += price;
      }
      replicas.push({
        id: tracked.id,
        status,
        state: tracked.state,
        provider: tracked.provider.name,
        location: tracked.location,
        capacityType: tracked.capacityType,
        instanceType: tracked.instanceType,
        instanceId,
        endpoint: tracked.endpoint,
        launchedAt: tracked.launchedAt,
        hourlyPrice: price,
      });
    }
    return {
      service: this.service,
      state: this.#state,
      leader: this.#isLeader(),
      target: this.#currentTarget,
      replicas,
      countsByStatus,
      costPerHour,
      ticks: this.#ticks,
    };
  }

  // ---------------------------------------------------------------- the tick

  #isLeader(): boolean {
    return this.#leaseOptions === undefined || this.#lease !== undefined;
  }

  async #tick(): Promise<void> {
    if (this.#state === 'destroyed') {
      throw new IllegalStateError('ReplicaManager is destroyed', { state: 'destroyed' });
    }
    const now = this.clock.now();
    if (this.#leaseOptions !== undefined && !(await this.#holdLease(now))) {
      await this.#follow();
      this.#ticks++;
      this.#notifyReady();
      return;
    }
    if (!this.#recovered) await this.#recover();
    if (now - this.#offeringsAt >= this.#offeringsRefreshMs) await this.#refreshOfferings(now);

    const listings = await this.#listAll();
    if (this.#noticeProviders.length > 0) await this.#pollInterruptions(now);
    this.#observe(listings, now);
    await this.#probeDue(now);

    this.#advanceDrains(now);
    const launches = this.#resolveIntents(listings, now);
    this.#planAndAct(now, launches);
    this.#updateFallback();
    // Intents and `terminating` states reach the store before any provider call: a crash
    // from here on is recovered by adopting the tagged instance, relaunching with the same
    // key, or terminating again (idempotent).
    await this.#persist();
    for (const tracked of this.#replicas.values()) {
      if (tracked.terminateCall || tracked.launching) continue;
      const status = tracked.status;
      if (
        status === 'terminating' ||
        ((status === 'preempted' || status === 'failed') && !tracked.released)
      ) {
        // Preempted and failed replicas are terminated without drain (stops billing).
        this.#background(this.#terminate(tracked));
      }
    }
    for (const [tracked, reason] of launches) this.#background(this.#launch(tracked, reason));
    this.#ticks++;
    this.#notifyReady();
  }

  #notifyReady(): void {
    if (this.#readyVersion === this.#notifiedReadyVersion) return;
    this.#notifiedReadyVersion = this.#readyVersion;
    try {
      this.#onReadyChange?.(this.readyReplicas());
    } catch (error) {
      this.#logger.error({ err: error }, 'onReadyChange threw');
    }
  }

  /** Tracks background provider work so `idle()` and `stop()` can wait for it. */
  #background(work: Promise<void>): void {
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work));
  }

  /** Resolves once no launch, terminate or sweep started by a tick is still running. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) {
      await Promise.allSettled([...this.#inflight]);
    }
  }

  async #holdLease(now: number): Promise<boolean> {
    const options = this.#leaseOptions!;
    if (options.routerOnly) return false;
    try {
      if (this.#lease === undefined) {
        const lease = await this.store.acquireLease(
          { service: this.service, holder: options.holder, ttlMs: options.ttlMs, now },
          { abortSignal: this.#abort.signal },
        );
        if (lease === undefined) return false;
        this.#lease = lease;
        this.#recovered = false; // another leader may have changed everything
        this.#emit('lease-acquire', { epoch: lease.epoch });
        return true;
      }
      this.#lease = await this.store.renewLease(
        this.#lease,
        { ttlMs: options.ttlMs, now },
        { abortSignal: this.#abort.signal },
      );
      return true;
    } catch (error) {
      if (!LeaseLostError.isInstance(error)) throw error;
      this.#loseLease();
      return false;
    }
  }

  #loseLease(): void {
    const epoch = this.#lease?.epoch ?? 0;
    this.#lease = undefined;
    this.#recovered = false;
    this.#emit('lease-lose', { epoch });
  }

  /** Follower: mirror the leader's replica table (for routing), act on nothing. */
  async #follow(): Promise<void> {
    const stored = await this.store.load(this.service, { abortSignal: this.#abort.signal });
    const seen = new Set<string>();
    for (const record of stored.replicas) {
      seen.add(record.id);
      const existing = this.#replicas.get(record.id);
      if (
        existing !== undefined &&
        existing.endpoint === record.endpoint &&
        (existing.state === record.state ||
          JSON.stringify(existing.state) === JSON.stringify(record.state))
      ) {
        continue;
      }
      const provider = this.#providers.get(record.provider);
      if (provider === undefined) continue;
      const tracked = this.#fromRecord(record, provider);
      this.#replicas.set(record.id, tracked);
      this.#tableChanged();
      this.#readyVersion++;
    }
    for (const id of this.#replicas.keys()) {
      if (!seen.has(id)) {
        this.#replicas.delete(id);
        this.#tableChanged();
        this.#readyVersion++;
      }
    }
  }

  #fromRecord(record: ReplicaRecord, provider: ProviderV1): Tracked {
    return {
      id: record.id,
      provider,
      location: record.location,
      instanceType: record.instanceType,
      capacityType: record.capacityType,
      idempotencyKey: record.idempotencyKey,
      launchedAt: record.launchedAt,
      state: record.state,
      status: record.state.status,
      instanceId: instanceIdOf(record.state) ?? record.instanceId,
      endpoint: record.endpoint,
      interruptionNoticedAt: record.interruptionNoticedAt,
      released: record.released ?? false,
      intent: undefined,
      launching: false,
      terminateCall: false,
      launchAttempts: 0,
      seenInList: false,
      listRound: 0,
      listed: undefined,
      nextProbeAt: Number.NEGATIVE_INFINITY,
      suspect: false,
      dirty: false,
      view: undefined,
      probeTarget: undefined,
    };
  }

  /** Loads the store: replicas, intents, policy state. Instances are matched on this tick. */
  async #recover(): Promise<void> {
    const stored = await this.store.load(this.service, { abortSignal: this.#abort.signal });
    this.#replicas.clear();
    this.#tableChanged();
    for (const record of stored.replicas) {
      const provider = this.#providers.get(record.provider);
      if (provider === undefined) {
        this.#logger.warn(
          { replicaId: record.id, provider: record.provider },
          'stored replica belongs to a provider that is not configured; ignored',
        );
        continue;
      }
      this.#replicas.set(record.id, this.#fromRecord(record, provider));
      this.#tableChanged();
    }
    for (const intent of stored.intents) {
      const provider = this.#providers.get(intent.provider);
      if (provider === undefined) continue;
      let tracked = this.#replicas.get(intent.replicaId);
      if (tracked === undefined) {
        tracked = this.#fromRecord(
          {
            id: intent.replicaId,
            provider: intent.provider,
            location: intent.location,
            instanceType: intent.instanceType,
            capacityType: intent.capacityType,
            idempotencyKey: intent.idempotencyKey,
            launchedAt: intent.createdAt,
            state: { status: 'pending' },
          },
          provider,
        );
        tracked.dirty = true;
        this.#replicas.set(tracked.id, tracked);
        this.#tableChanged();
      }
      if (tracked.status === 'pending') tracked.intent = intent;
      else this.#pendingIntentDeletes.push(intent.idempotencyKey);
    }
    // A pending record whose intent is gone was resolved before the crash; let the
    // listing decide (intent re-created from the record so it is resolved the same way).
    for (const tracked of this.#replicas.values()) {
      if (tracked.status === 'pending' && tracked.intent === undefined) {
        tracked.intent = this.#intentOf(tracked);
      }
    }
    if (stored.policyState !== undefined) {
      try {
        this.policy.restore(stored.policyState);
        this.#lastPolicyState = stored.policyState;
      } catch (error) {
        this.#logger.warn({ err: error }, 'stored policy state rejected; starting fresh');
      }
    }
    this.#readyVersion++;
    this.#recovered = true;
  }

  #intentOf(tracked: Tracked): LaunchIntent {
    return {
      idempotencyKey: tracked.idempotencyKey,
      replicaId: tracked.id,
      provider: tracked.provider.name,
      location: tracked.location,
      instanceType: tracked.instanceType,
      capacityType: tracked.capacityType,
      createdAt: tracked.launchedAt,
    };
  }

  async #refreshOfferings(now: number): Promise<void> {
    const results = await Promise.all(
      [...this.#providers.values()].map(async (provider) => {
        try {
          return {
            provider,
            offerings: await this.#call(provider, 'offerings', (signal) =>
              provider.offerings({ abortSignal: signal }),
            ),
          };
        } catch (error) {
          this.#logger.warn({ err: error, provider: provider.name }, 'offerings failed');
          return { provider, offerings: undefined };
        }
      }),
    );
    let complete = true;
    for (const { provider, offerings } of results) {
      if (offerings === undefined) {
        complete = false;
        continue;
      }
      this.#applyOfferings(provider, offerings);
    }
    this.#buildLocationViews();
    // Retry a failed refresh on the next tick, a complete one after the refresh period.
    this.#offeringsAt = complete ? now : this.#offeringsAt;
    if (!complete && this.#offeringsAt === Number.NEGATIVE_INFINITY && this.#prices.size > 0) {
      this.#offeringsAt = now - this.#offeringsRefreshMs + this.#tickIntervalMs;
    }
  }

  #applyOfferings(provider: ProviderV1, offerings: readonly Offering[]): void {
    const locations = new Set(provider.locations().map((location) => location.id));
    for (const key of [...this.#prices.keys()]) {
      const location = key.slice(0, key.lastIndexOf('|'));
      if (locations.has(location)) this.#prices.delete(key);
    }
    for (const offering of offerings) {
      if (!locations.has(offering.location)) continue;
      if (this.#instanceTypes !== undefined && !this.#instanceTypes.has(offering.instanceType)) {
        continue;
      }
      const key = `${offering.location}|${offering.capacityType}`;
      const current = this.#prices.get(key);
      if (current === undefined || offering.hourlyPrice < current.hourlyPrice) {
        this.#prices.set(key, {
          instanceType: offering.instanceType,
          hourlyPrice: offering.hourlyPrice,
        });
      }
    }
  }

  #buildLocationViews(): void {
    const views: LocationView[] = [];
    for (const provider of this.#providers.values()) {
      for (const location of provider.locations()) {
        if (this.#candidateLocations !== undefined && !this.#candidateLocations.has(location.id)) {
          continue;
        }
        const spot = this.#prices.get(`${location.id}|spot`);
        const onDemand = this.#prices.get(`${location.id}|on-demand`);
        if (spot === undefined && onDemand === undefined) continue;
        views.push(locationView(location, spot?.hourlyPrice, onDemand?.hourlyPrice));
      }
    }
    this.#locationViews = views;
  }

  /** Lists every provider's instances of this service; `undefined` where the call failed. */
  async #listAll(): Promise<ReadonlyMap<string, readonly Instance[] | undefined>> {
    const providers = [...this.#providers.values()];
    const results =
      providers.length === 1
        ? [await this.#list(providers[0]!)]
        : await Promise.all(providers.map((provider) => this.#list(provider)));
    const listings = new Map<string, readonly Instance[] | undefined>();
    providers.forEach((provider, index) => listings.set(provider.name, results[index]));
    return listings;
  }

  /** One provider's listing, or `undefined` when it failed (logged; the tick goes on). */
  async #list(provider: ProviderV1): Promise<readonly Instance[] | undefined> {
    try {
      return await this.#call(provider, 'list', (signal) =>
        provider.list({ tags: this.#serviceTags }, { abortSignal: signal }),
      );
    } catch (error) {
      if (AbortedError.isInstance(error)) throw error;
      this.#logger.warn({ err: error, provider: provider.name }, 'list failed');
      return undefined;
    }
  }

  async #pollInterruptions(now: number): Promise<void> {
    if (this.#noticeProviders.length === 0) return;
    const notices: InterruptionNotice[] = [];
    await Promise.all(
      this.#noticeProviders.map(async (provider) => {
        try {
          const found = await this.#call(provider, 'interruptions', (signal) =>
            provider.interruptions!({ tags: this.#serviceTags }, { abortSignal: signal }),
          );
          notices.push(...found);
        } catch (error) {
          if (AbortedError.isInstance(error)) throw error;
          this.#logger.debug({ err: error, provider: provider.name }, 'interruptions failed');
        }
      }),
    );
    if (notices.length === 0) return;
    const byInstance = new Map<string, InterruptionNotice>();
    for (const notice of notices) byInstance.set(notice.instanceId, notice);
    for (const tracked of this.#replicas.values()) {
      if (tracked.interruptionNoticedAt !== undefined || !isAlive(tracked.status)) continue;
      const instanceId = tracked.instanceId;
      const notice = instanceId === undefined ? undefined : byInstance.get(instanceId);
      if (notice === undefined) continue;
      tracked.interruptionNoticedAt = notice.noticedAt ?? now;
      this.#invalidateView(tracked);
      tracked.dirty = true;
      this.#observePolicy({
        type: 'interruption-notice',
        at: now,
        replicaId: tracked.id,
        location: tracked.location,
        deadline: notice.deadline,
      });
      this.#emit('replica-interrupt', {
        ...this.#replicaFields(tracked),
        deadline: notice.deadline,
      });
    }
  }

  /**
   * Matches listed instances with tracked replicas and applies the facts. Hot at fleet
   * scale (every instance, every tick): each instance costs one lookup in the replica
   * table and a stamp on its replica; only the rare leftovers (twins, instances no replica
   * owns) get collections of their own.
   */
  #observe(listings: ReadonlyMap<string, readonly Instance[] | undefined>, now: number): void {
    const round = ++this.#listRound;
    let twins: Map<Tracked, Instance[]> | undefined;
    // Per provider: replica id → instances no tracked replica of that provider owns.
    let unowned: Map<ProviderV1, Map<string, Instance[]>> | undefined;
    const untagged: { provider: ProviderV1; instance: Instance }[] = [];
    const managedBy = MANAGED_BY_VALUE;
    const service = this.service;
    let everyProviderListed = true;
    for (const [name, instances] of listings) {
      if (instances === undefined) {
        everyProviderListed = false;
        continue;
      }
      const provider = this.#providers.get(name)!;
      // Providers list in a stable order, so the replica matched at the same position last
      // time is usually the one: checking it is cheaper than a table lookup at fleet scale.
      let hints = this.#listHints.get(provider);
      if (hints === undefined || hints.version !== this.#membershipVersion) {
        hints = { version: this.#membershipVersion, replicas: [] };
        this.#listHints.set(provider, hints);
      }
      const hinted = hints.replicas;
      for (let index = 0; index < instances.length; index++) {
        const instance = instances[index]!;
        const tags = instance.tags;
        const hint = hinted[index];
        hinted[index] = undefined;
        // Defence in depth: never act on an instance without our tags, whatever `list` did.
        if (tags[OwnershipTag.ManagedBy] !== managedBy || tags[OwnershipTag.Service] !== service) {
          continue;
        }
        const replicaId = tags[OwnershipTag.Replica];
        if (replicaId === undefined) {
          untagged.push({ provider, instance });
          continue;
        }
        const tracked = hint?.id === replicaId ? hint : this.#replicas.get(replicaId);
        if (tracked === undefined || tracked.provider !== provider) {
          unowned ??= new Map();
          let byReplica = unowned.get(provider);
          if (byReplica === undefined) unowned.set(provider, (byReplica = new Map()));
          const found = byReplica.get(replicaId);
          if (found === undefined) byReplica.set(replicaId, [instance]);
          else found.push(instance);
        } else if (tracked.listRound !== round) {
          hinted[index] = tracked;
          tracked.listRound = round;
          tracked.listed = instance;
        } else {
          twins ??= new Map();
          const found = twins.get(tracked);
          if (found === undefined) twins.set(tracked, [tracked.listed!, instance]);
          else found.push(instance);
        }
      }
      hinted.length = instances.length;
    }

    for (const tracked of this.#replicas.values()) {
      if (!everyProviderListed && listings.get(tracked.provider.name) === undefined) continue;
      let instance: Instance | undefined;
      if (tracked.listRound === round) {
        const several = twins?.get(tracked);
        instance = several === undefined ? tracked.listed : this.#pickInstance(tracked, several);
        tracked.listed = undefined;
      }
      this.#applyFacts(tracked, instance, now);
    }

    // Tagged instances no tracked replica owns: adopt alive ones (a previous run's), or
    // terminate them if we released that replica before (late listing).
    for (const [provider, byReplica] of unowned ?? []) {
      for (const [replicaId, found] of byReplica) {
        const alive = found.filter((instance) => ALIVE_INSTANCE.has(instance.state));
        if (alive.length === 0) continue;
        alive.sort((a, b) => a.launchedAt - b.launchedAt || (a.id < b.id ? -1 : 1));
        if (this.#tombstones.has(replicaId)) {
          for (const instance of alive) this.#sweep(provider, instance, replicaId, 'released');
          continue;
        }
        const [keep, ...rest] = alive;
        this.#adopt(provider, keep!, replicaId, now);
        for (const instance of rest) this.#sweep(provider, instance, replicaId, 'twin');
      }
    }
    for (const { provider, instance } of untagged) {
      if (!ALIVE_INSTANCE.has(instance.state)) continue;
      this.#adopt(provider, instance, sanitizeId(`x-${instance.id}`), now);
    }
    if (this.#tombstones.size > 0) {
      for (const [replicaId, at] of this.#tombstones) {
        if (now - at > this.#listGraceMs * 10) this.#tombstones.delete(replicaId);
      }
    }
  }

  #pickInstance(tracked: Tracked, instances: readonly Instance[]): Instance | undefined {
    if (instances.length === 1) return instances[0];
    const known = tracked.instanceId;
    let chosen = known === undefined ? undefined : instances.find((item) => item.id === known);
    if (chosen === undefined) {
      const alive = instances
        .filter((item) => ALIVE_INSTANCE.has(item.state))
        .sort((a, b) => a.launchedAt - b.launchedAt || (a.id < b.id ? -1 : 1));
      chosen = alive[0] ?? instances[0];
    }
    for (const instance of instances) {
      if (instance !== chosen && ALIVE_INSTANCE.has(instance.state)) {
        this.#sweep(tracked.provider, instance, tracked.id, 'twin');
      }
    }
    return chosen;
  }

  #adopt(provider: ProviderV1, instance: Instance, replicaId: string, now: number): void {
    const capacityType: CapacityType =
      instance.capacityType ??
      (instance.tags[OwnershipTag.CapacityType] === 'on-demand' ? 'on-demand' : 'spot');
    const tracked = this.#fromRecord(
      {
        id: replicaId,
        provider: provider.name,
        location: instance.location,
        instanceType: instance.instanceType,
        capacityType,
        idempotencyKey: replicaId,
        launchedAt: instance.launchedAt ?? now,
        state:
          instance.state === 'running'
            ? { status: 'starting', instanceId: instance.id, runningAt: now }
            : { status: 'provisioning', instanceId: instance.id },
        endpoint: instance.endpoint,
      },
      provider,
    );
    tracked.seenInList = true;
    tracked.dirty = true;
    this.#replicas.set(replicaId, tracked);
    this.#tableChanged();
    this.#logger.info({ replicaId, instanceId: instance.id }, 'adopted instance');
    this.#emit('replica-adopt', this.#replicaFields(tracked));
  }

  /** A replica entered or left the table (or the table was reloaded). */
  #tableChanged(): void {
    this.#membershipVersion++;
    this.#fleetVersion++;
  }

  /** Something in the replica's policy view changed. */
  #invalidateView(tracked: Tracked): void {
    tracked.view = undefined;
    this.#fleetVersion++;
  }

  /** Terminates an instance that no replica owns (twin, released). Never untagged ones. */
  #sweep(provider: ProviderV1, instance: Instance, replicaId: string, reason: string): void {
    if (!hasTags(instance.tags, this.#serviceTags)) return;
    const tags =
      instance.tags[OwnershipTag.Replica] === undefined
        ? this.#serviceTags
        : { ...this.#serviceTags, [OwnershipTag.Replica]: instance.tags[OwnershipTag.Replica] };
    this.#background(
      this.#queue(provider, () =>
        this.#call(provider, 'terminate', (signal) =>
          provider.terminate({ instanceId: instance.id, tags }, { abortSignal: signal }),
        ),
      ).then(
        () => {
          this.#logger.warn(
            { replicaId, instanceId: instance.id, reason },
            'terminated stray instance',
          );
          this.#emit('instance-terminate', {
            provider: provider.name,
            instanceId: instance.id,
            replicaId,
            reason,
          });
        },
        (error: unknown) => {
          this.#logger.warn(
            { err: error, instanceId: instance.id },
            'terminating stray instance failed',
          );
        },
      ),
    );
  }

  #setState(tracked: Tracked, event: ReplicaTransitionEvent): boolean {
    const previous = tracked.state;
    const next = transition(previous, event);
    if (next === previous) return false;
    tracked.state = next;
    tracked.status = next.status;
    tracked.instanceId = instanceIdOf(next) ?? tracked.instanceId;
    tracked.dirty = true;
    this.#invalidateView(tracked);
    if (previous.status === 'ready' || next.status === 'ready') this.#readyVersion++;
    return true;
  }

  #applyFacts(tracked: Tracked, instance: Instance | undefined, now: number): void {
    const status = tracked.status;
    if (status === 'pending' && tracked.launching) return; // the launch call decides
    if (instance === undefined) {
      if (status === 'pending') return; // an unresolved intent: #resolveIntents decides
      if (isFinalStatus(status) || status === 'terminating') {
        if (status === 'terminating') this.#finishTerminate(tracked);
        this.#release(tracked);
        return;
      }
      if (!tracked.seenInList && now - tracked.launchedAt < this.#listGraceMs) return;
      this.#lose(tracked, 'vanished', now);
      this.#release(tracked);
      return;
    }
    tracked.seenInList = true;
    if (instance.endpoint !== undefined && instance.endpoint !== tracked.endpoint) {
      tracked.endpoint = instance.endpoint;
      tracked.probeTarget = undefined;
      tracked.dirty = true;
      if (status === 'ready') this.#readyVersion++;
    }
    switch (instance.state) {
      case 'pending':
        if (status === 'pending') {
          this.#resolveIntent(tracked);
          this.#setState(tracked, { type: 'instance-pending', instanceId: instance.id });
          this.#emit('replica-adopt', this.#replicaFields(tracked));
        }
        return;
      case 'running':
        if (status === 'pending' || status === 'provisioning') {
          if (status === 'pending') {
            this.#resolveIntent(tracked);
            this.#emit('replica-adopt', {
              ...this.#replicaFields(tracked),
              instanceId: instance.id,
            });
          }
          this.#setState(tracked, { type: 'instance-running', instanceId: instance.id, at: now });
        } else if (tracked.suspect && tracked.state.status === 'not-ready') {
          // Probes failed past the threshold and the provider says it still runs: unhealthy.
          tracked.suspect = false;
          this.#fail(tracked, `unhealthy: ${tracked.state.failures} failed readiness probes`);
        }
        return;
      case 'stopping':
      case 'preempted':
      case 'terminated': {
        const gone = instance.state === 'terminated';
        if (status === 'terminating' || isFinalStatus(status)) {
          // Gone for good: done. Otherwise the terminate call (idempotent) finishes it.
          if (gone) {
            this.#finishTerminate(tracked);
            this.#release(tracked);
          }
          return;
        }
        if (status === 'pending') this.#resolveIntent(tracked);
        this.#lose(tracked, instance.stateReason ?? instance.state, now);
        if (gone) this.#release(tracked);
        return;
      }
    }
  }

  #resolveIntent(tracked: Tracked): void {
    if (tracked.intent !== undefined) {
      this.#pendingIntentDeletes.push(tracked.intent.idempotencyKey);
      tracked.intent = undefined;
    }
  }

  /** The instance went away without us: preempted (spot) or failed (on-demand). */
  #lose(tracked: Tracked, reason: string, now: number): void {
    if (tracked.capacityType === 'spot') {
      this.#setState(tracked, { type: 'preempt', at: now, reason });
      this.#observePolicy({
        type: 'preemption',
        at: now,
        replicaId: tracked.id,
        location: tracked.location,
      });
      this.#emit('replica-preempt', { ...this.#replicaFields(tracked), reason });
      this.#markLocation(tracked.location, 'preemption');
    } else {
      this.#fail(tracked, `instance ${reason}`);
    }
  }

  #fail(tracked: Tracked, reason: string): void {
    this.#setState(tracked, { type: 'fail', reason });
    this.#logger.warn({ replicaId: tracked.id, reason }, 'replica failed');
    this.#emit('replica-fail', { ...this.#replicaFields(tracked), reason });
  }

  #finishTerminate(tracked: Tracked): void {
    const state = tracked.state;
    if (state.status !== 'terminating') return;
    const reason = state.reason;
    const fields = this.#replicaFields(tracked);
    this.#setState(tracked, { type: 'terminated' });
    this.#emit('replica-terminate', { ...fields, reason });
  }

  /** The instance is gone for good: forget the replica (store delete at the tick's end). */
  #release(tracked: Tracked): void {
    if (tracked.launching) return;
    tracked.released = true;
    this.#resolveIntent(tracked);
    this.#replicas.delete(tracked.id);
    this.#tableChanged();
    this.#tombstones.set(tracked.id, this.clock.now());
    this.#pendingDeletes.push(tracked.id);
    if (tracked.status === 'ready') this.#readyVersion++;
  }

  #markLocation(location: string, cause: 'preemption' | 'capacity'): void {
    if (this.#preemptedLocations.has(location)) return;
    this.#preemptedLocations.add(location);
    this.#emit('location-preempt', { location, cause });
  }

  #observePolicy(event: PolicyEvent): void {
    try {
      this.policy.observe(event);
    } catch (error) {
      this.#logger.error({ err: error, event: event.type }, 'policy.observe threw');
    }
  }

  // ---------------------------------------------------------------- probing

  /**
   * Probes every replica whose probe is due. A synchronous answer (the simulator's prober)
   * is applied on the spot; asynchronous ones run at most `probeConcurrency` at a time
   * under one shared timeout and are applied once all have settled. One pass over the
   * fleet and no per-probe promise when the prober answers synchronously.
   */
  async #probeDue(now: number): Promise<void> {
    const controller = this.#takeController();
    const context = { abortSignal: controller.signal, timeoutMs: this.#probe.timeoutMs };
    const nextProbeAt = now + this.#probe.periodMs;
    const limit = this.#probeConcurrency;
    // Asynchronous probes: those started in the pass, then those waiting for a slot.
    const started: { tracked: Tracked; answer: Promise<boolean> }[] = [];
    const waiting: Tracked[] = [];
    for (const tracked of this.#replicas.values()) {
      const status = tracked.status;
      if (status !== 'starting' && status !== 'ready' && status !== 'not-ready') continue;
      if (tracked.endpoint === undefined || now < tracked.nextProbeAt) continue;
      if (started.length >= limit) {
        waiting.push(tracked);
        continue;
      }
      const answer = this.#askProber(tracked, context);
      if (typeof answer === 'boolean') {
        tracked.nextProbeAt = nextProbeAt;
        this.#applyProbe(tracked, answer, now);
      } else {
        started.push({ tracked, answer });
      }
    }
    if (started.length === 0) {
      this.#returnController(controller);
      return;
    }

    const onStop = () => controller.abort(this.#abort.signal.reason);
    this.#stopHooks.add(onStop);
    const timer = this.clock.setTimeout(
      () => controller.abort(new AbortedError('Readiness probe timed out')),
      this.#probe.timeoutMs,
    );
    const trackeds = started.map((probe) => probe.tracked).concat(waiting);
    const results = new Array<boolean>(trackeds.length);
    const settle = (answer: Promise<boolean>) =>
      answer.then(
        (passed) => passed === true,
        () => false,
      );
    let next = started.length;
    const worker = async (first: number): Promise<void> => {
      results[first] = await settle(started[first]!.answer);
      while (next < trackeds.length) {
        const index = next++;
        const answer = this.#askProber(trackeds[index]!, context);
        results[index] = typeof answer === 'boolean' ? answer : await settle(answer);
      }
    };
    try {
      await Promise.all(started.map((_, index) => worker(index)));
    } finally {
      this.clock.clearTimeout(timer);
      this.#stopHooks.delete(onStop);
      this.#returnController(controller);
    }
    if (this.#abort.signal.aborted) return;
    const at = this.clock.now();
    for (let index = 0; index < trackeds.length; index++) {
      const tracked = trackeds[index]!;
      if (this.#replicas.get(tracked.id) !== tracked) continue;
      tracked.nextProbeAt = nextProbeAt;
      this.#applyProbe(tracked, results[index]!, at);
    }
  }

  /** Calls the prober; a throw counts as "not ready". */
  #askProber(tracked: Tracked, context: ProbeContext): boolean | Promise<boolean> {
    const state = tracked.state as { instanceId: string };
    tracked.probeTarget ??= {
      replicaId: tracked.id,
      instanceId: state.instanceId,
      endpoint: tracked.endpoint!,
      location: tracked.location,
      capacityType: tracked.capacityType,
    };
    try {
      return this.#prober.probe(tracked.probeTarget, context);
    } catch {
      return false;
    }
  }

  #applyProbe(tracked: Tracked, passed: boolean, at: number): void {
    const status = tracked.status;
    if (status !== 'starting' && status !== 'ready' && status !== 'not-ready') return;
    if (passed) {
      tracked.suspect = false;
      if (status === 'ready') return;
      const wasStarting = status === 'starting';
      this.#setState(tracked, { type: 'probe-pass', at });
      if (wasStarting) {
        this.#observePolicy({
          type: 'replica-ready',
          at,
          replicaId: tracked.id,
          location: tracked.location,
          capacityType: tracked.capacityType,
        });
      }
      this.#emit('replica-ready', this.#replicaFields(tracked));
      return;
    }
    if (status === 'starting') {
      if (at - tracked.launchedAt >= this.#probe.initialDelayMs) {
        this.#fail(tracked, 'readiness timeout: not ready within the initial delay');
      }
      return;
    }
    this.#setState(tracked, { type: 'probe-fail', at });
    const next = tracked.state;
    if (next.status !== 'not-ready') return;
    if (next.failures === 1) {
      this.#emit('replica-degrade', { ...this.#replicaFields(tracked), failures: 1 });
    }
    if (next.failures >= this.#probe.failureThreshold) tracked.suspect = true;
  }

  // ---------------------------------------------------------------- acting

  #advanceDrains(now: number): void {
    for (const tracked of this.#replicas.values()) {
      const status = tracked.status;
      if (status !== 'draining' && status !== 'provisioning') continue;
      const state = tracked.state;
      if (state.status === 'draining' && now >= state.until) {
        this.#setState(tracked, { type: 'terminate', reason: state.reason });
      } else if (
        state.status === 'provisioning' &&
        now - tracked.launchedAt >= this.#probe.initialDelayMs
      ) {
        this.#fail(tracked, 'provisioning timeout: not running within the initial delay');
      }
    }
  }

  /** Intents with no instance after a successful listing: relaunch (same key) or drop. */
  #resolveIntents(
    listings: ReadonlyMap<string, readonly Instance[] | undefined>,
    now: number,
  ): Map<Tracked, string> {
    const launches = new Map<Tracked, string>();
    for (const tracked of this.#replicas.values()) {
      if (tracked.status !== 'pending' || tracked.launching) continue;
      if (listings.get(tracked.provider.name) === undefined) continue;
      if (tracked.intent === undefined) {
        tracked.intent = this.#intentOf(tracked);
        this.#pendingIntentWrites.push(tracked.intent);
      }
      if (now - tracked.launchedAt > this.#intentTtlMs || tracked.launchAttempts >= 3) {
        this.#fail(tracked, 'launch unresolved: no instance after retries');
        this.#observePolicy({
          type: 'launch-failure',
          at: now,
          location: tracked.location,
          capacityType: tracked.capacityType,
          reason: 'other',
        });
        this.#release(tracked);
        continue;
      }
      launches.set(tracked, 'relaunch of an unresolved intent');
    }
    return launches;
  }

  #planAndAct(now: number, launches: Map<Tracked, string>): void {
    const target = this.#target.evaluate(now);
    if (target !== this.#currentTarget) {
      this.#emit('target-change', { from: this.#currentTarget, to: target });
      this.#currentTarget = target;
    }
    // Rebuilt only when a replica changed: a steady fleet hands the policy the same array.
    if (this.#views?.version !== this.#fleetVersion) {
      const replicas: ReplicaView[] = [];
      let alive = 0;
      for (const tracked of this.#replicas.values()) {
        const status = tracked.status;
        if (isFinalStatus(status)) continue;
        if (isAlive(status)) alive++;
        tracked.view ??= replicaView(tracked);
        replicas.push(tracked.view);
      }
      this.#views = { version: this.#fleetVersion, replicas, alive };
    }
    const views = this.#views.replicas;
    let alive = this.#views.alive;
    const view: FleetView = {
      now,
      target,
      maxReplicas: this.#maxReplicas,
      locations: this.#locationViews,
      replicas: views,
    };
    let plan: Plan;
    try {
      plan = this.policy.plan(view);
    } catch (error) {
      this.#logger.error({ err: error }, 'policy.plan threw; no actions this tick');
      return;
    }
    for (const action of plan.actions) {
      if (action.type === 'launch') {
        if (alive >= this.#maxReplicas) continue;
        const tracked = this.#newReplica(action.location, action.capacityType, now);
        if (tracked === undefined) continue;
        alive++;
        launches.set(tracked, action.reason);
      } else {
        const tracked = this.#replicas.get(action.replicaId);
        if (tracked === undefined) continue;
        this.#scaleDown(tracked, action.reason, now);
      }
    }
  }

  #newReplica(location: string, capacityType: CapacityType, now: number): Tracked | undefined {
    const provider = this.#providerOf(location);
    const price = this.#prices.get(`${location}|${capacityType}`);
    if (provider === undefined || price === undefined) {
      this.#logger.warn(
        { location, capacityType },
        'policy planned a launch where nothing is offered',
      );
      return undefined;
    }
    const id = this.#newId();
    const tracked = this.#fromRecord(
      {
        id,
        provider: provider.name,
        location,
        instanceType: price.instanceType,
        capacityType,
        idempotencyKey: id,
        launchedAt: now,
        state: { status: 'pending' },
      },
      provider,
    );
    tracked.intent = this.#intentOf(tracked);
    tracked.dirty = true;
    this.#pendingIntentWrites.push(tracked.intent);
    this.#replicas.set(id, tracked);
    this.#tableChanged();
    return tracked;
  }

  #providerOf(location: string): ProviderV1 | undefined {
    if (this.#candidateLocations !== undefined && !this.#candidateLocations.has(location)) {
      return undefined;
    }
    for (const provider of this.#providers.values()) {
      if (provider.locations().some((candidate) => candidate.id === location)) return provider;
    }
    return undefined;
  }

  #scaleDown(tracked: Tracked, reason: string, now: number): void {
    const status = tracked.status;
    if (status === 'pending') return; // launch in flight: decided again next tick
    if ((status === 'ready' || status === 'not-ready') && this.#drainMs > 0) {
      const until = now + this.#drainMs;
      this.#setState(tracked, { type: 'drain', until, reason });
      this.#emit('replica-drain', { ...this.#replicaFields(tracked), until, reason });
      return;
    }
    if (
      status === 'provisioning' ||
      status === 'starting' ||
      status === 'ready' ||
      status === 'not-ready'
    ) {
      this.#setState(tracked, { type: 'terminate', reason });
    }
  }

  #launchTags(tracked: Tracked): Record<string, string> {
    const tags = replicaOwnershipTags({
      service: this.service,
      replicaId: tracked.id,
      capacityType: tracked.capacityType,
    });
    if (this.#replicaPort !== undefined) tags[ReplicaTag.Port] = this.#replicaPort;
    return tags;
  }

  async #launch(tracked: Tracked, reason: string): Promise<void> {
    const provider = tracked.provider;
    tracked.launching = true;
    tracked.launchAttempts++;
    let instance: Instance;
    try {
      instance = await this.#queue(provider, () =>
        this.#call(provider, 'launch', (signal) =>
          provider.launch(
            {
              location: tracked.location,
              capacityType: tracked.capacityType,
              instanceType: tracked.instanceType,
              tags: this.#launchTags(tracked),
              startupScript: this.#startupScript,
              idempotencyKey: tracked.idempotencyKey,
            },
            { abortSignal: signal },
          ),
        ),
      );
    } catch (error) {
      tracked.launching = false;
      this.#launchFailed(tracked, error);
      return;
    }
    tracked.launching = false;
    if (this.#replicas.get(tracked.id) !== tracked || tracked.status !== 'pending') return;
    const now = this.clock.now();
    if (!ALIVE_INSTANCE.has(instance.state)) {
      // A relaunch under the same key returned the instance that already ended.
      this.#applyFacts(tracked, instance, now);
      return;
    }
    this.#resolveIntent(tracked);
    tracked.seenInList = false;
    if (instance.endpoint !== undefined) tracked.endpoint = instance.endpoint;
    if (instance.state === 'running') {
      this.#setState(tracked, { type: 'instance-running', instanceId: instance.id, at: now });
    } else {
      this.#setState(tracked, { type: 'instance-pending', instanceId: instance.id });
    }
    this.#observePolicy({
      type: 'launch-success',
      at: now,
      replicaId: tracked.id,
      location: tracked.location,
      capacityType: tracked.capacityType,
    });
    this.#emit('replica-launch', { ...this.#replicaFields(tracked), reason });
    if (tracked.capacityType === 'spot' && this.#preemptedLocations.delete(tracked.location)) {
      this.#emit('location-recover', { location: tracked.location });
    }
  }

  #launchFailed(tracked: Tracked, error: unknown): void {
    if (this.#abort.signal.aborted) return; // shutting down: the intent stays for next start
    if (this.#replicas.get(tracked.id) !== tracked || tracked.status !== 'pending') return;
    if (isRetryable(error)) {
      // Ambiguous (throttled, 5xx, timeout): the cloud may have launched it. Keep the
      // intent; the next tick adopts the instance or relaunches with the same key.
      this.#logger.warn({ err: error, replicaId: tracked.id }, 'launch failed; intent kept');
      return;
    }
    const reason = failureReason(error);
    const now = this.clock.now();
    this.#observePolicy({
      type: 'launch-failure',
      at: now,
      location: tracked.location,
      capacityType: tracked.capacityType,
      reason,
    });
    this.#emit('launch-fail', {
      replicaId: tracked.id,
      provider: tracked.provider.name,
      location: tracked.location,
      capacityType: tracked.capacityType,
      reason,
      error,
    });
    if (reason === 'capacity' && tracked.capacityType === 'spot') {
      this.#markLocation(tracked.location, 'capacity');
    }
    this.#setState(tracked, { type: 'fail', reason: `launch rejected: ${reason}` });
    this.#release(tracked);
  }

  async #terminate(tracked: Tracked): Promise<void> {
    const instanceId = tracked.instanceId;
    if (instanceId === undefined) {
      // Nothing was launched (or it is unknown): the listing decides.
      return;
    }
    const provider = tracked.provider;
    tracked.terminateCall = true;
    try {
      await this.#queue(provider, () =>
        this.#call(provider, 'terminate', (signal) =>
          provider.terminate(
            {
              instanceId,
              tags: { ...this.#serviceTags, [OwnershipTag.Replica]: tracked.id },
            },
            { abortSignal: signal },
          ),
        ),
      );
    } catch (error) {
      tracked.terminateCall = false;
      this.#logger.warn(
        { err: error, replicaId: tracked.id },
        'terminate failed; retried next tick',
      );
      return;
    }
    tracked.terminateCall = false;
    if (this.#replicas.get(tracked.id) !== tracked) return;
    if (tracked.status === 'terminating') this.#finishTerminate(tracked);
    this.#release(tracked);
  }

  #queue<T>(provider: ProviderV1, task: () => Promise<T>): Promise<T> {
    // No `signal` here: p-queue would add one abort listener per task, and EventTarget
    // listeners cost O(listeners) each. A task that starts after destroy() fails at once.
    return this.#queues.get(provider.name)!.add(() => {
      if (this.#abort.signal.aborted) throw new AbortedError('ReplicaManager stopped');
      return task();
    }) as Promise<T>;
  }

  /**
   * One provider call with a per-attempt timeout and retries for retryable errors. The
   * first attempt runs directly; p-retry takes over only after a retryable failure, so the
   * common case costs no retry machinery.
   */
  #call<T>(
    provider: ProviderV1,
    method: string,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const first = this.#attempt(provider, method, run);
    if (this.#retries === 0) return first;
    return first.then(undefined, async (error: unknown) => {
      if (!(await this.#backOff(error, 0))) throw error;
      return pRetry(() => this.#attempt(provider, method, run), {
        retries: this.#retries - 1,
        minTimeout: 0,
        maxTimeout: 0,
        randomize: false,
        signal: this.#abort.signal,
        shouldRetry: ({ error: next, retriesConsumed }) => this.#backOff(next, retriesConsumed + 1),
      });
    });
  }

  /**
   * Whether a failed attempt is retried; if so, waits the backoff on the injected clock
   * (p-retry's own timer would be wall-clock time): exponential in `retry` with jitter,
   * at least a throttling error's `retryAfterMs`.
   */
  async #backOff(error: unknown, retry: number): Promise<boolean> {
    const stop = this.#abort.signal;
    if (!isRetryable(error) || stop.aborted) return false;
    const base = Math.min(this.#maxDelayMs, this.#minDelayMs * 2 ** retry);
    let delay = base / 2 + (this.#random.next() * base) / 2;
    if (ThrottledError.isInstance(error) && error.retryAfterMs !== undefined) {
      delay = Math.max(delay, error.retryAfterMs);
    }
    try {
      await this.clock.sleep(delay, stop);
    } catch {
      return false;
    }
    return true;
  }

  #attempt<T>(
    provider: ProviderV1,
    method: string,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const stop = this.#abort.signal;
    if (stop.aborted) return Promise.reject(new AbortedError('ReplicaManager stopped'));
    const lease = this.#lease;
    if (
      this.#leaseOptions !== undefined &&
      (lease === undefined || this.clock.now() >= lease.expiresAt)
    ) {
      // Fencing on the cloud side: a leader whose lease lapsed (paused, partitioned, store
      // unreachable) starts no provider call, even one queued or retried earlier.
      return Promise.reject(
        new LeaseLostError(`${provider.name}.${method} refused: this host holds no live lease`),
      );
    }
    const batch = this.#callBatch();
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        label: `${provider.name}.${method}`,
        fail: (error) => {
          batch.calls.delete(call);
          reject(error);
        },
      };
      batch.calls.add(call);
      const settle = (): boolean => {
        if (!batch.calls.delete(call)) return false; // already failed by timeout or stop
        if (batch.calls.size === 0) this.#closeBatch(batch);
        return true;
      };
      let promise: Promise<T>;
      try {
        promise = run(batch.controller.signal);
      } catch (error) {
        settle();
        reject(error instanceof Error ? error : new ProviderError(String(error)));
        return;
      }
      promise.then(
        (value) => {
          if (settle()) resolve(value);
        },
        (error: unknown) => {
          if (!settle()) return;
          reject(
            error instanceof Error
              ? error
              : new ProviderError(`${call.label} failed: ${String(error)}`, {
                  cause: error,
                  retryable: true,
                }),
          );
        },
      );
    });
  }

  /**
   * The batch for calls starting now. Calls that start at the same clock instant have the
   * same deadline, so they share one abort signal and one timeout timer: at fleet and
   * simulator scale a controller and a timer per call cost more than the calls. A batch
   * closes (timer cleared) as soon as none of its calls is running.
   */
  #callBatch(): CallBatch {
    const now = this.clock.now();
    const current = this.#currentBatch;
    if (current !== undefined && current.at === now) return current;
    const batch: CallBatch = {
      at: now,
      controller: this.#takeController(),
      calls: new Set(),
      timer: undefined,
      onStop: () => {
        this.#failBatch(batch, this.#abort.signal.reason, (call) => {
          return new AbortedError(`${call.label} aborted`);
        });
      },
    };
    batch.timer = this.clock.setTimeout(() => {
      this.#failBatch(batch, undefined, (call) => {
        return new ProviderError(`${call.label} timed out after ${this.#callTimeoutMs} ms`, {
          providerCode: 'timeout',
          retryable: true,
        });
      });
    }, this.#callTimeoutMs);
    this.#stopHooks.add(batch.onStop);
    this.#currentBatch = batch;
    return batch;
  }

  /**
   * Fails the batch's calls still running, aborts its signal (with `reason`, else the first
   * call's error; not at all when no call was running and no reason is given), closes it.
   */
  #failBatch(batch: CallBatch, reason: unknown, errorOf: (call: PendingCall) => Error): void {
    let abortWith = reason;
    for (const call of [...batch.calls]) {
      const error = errorOf(call);
      abortWith ??= error;
      call.fail(error);
    }
    if (abortWith !== undefined) batch.controller.abort(abortWith);
    this.#closeBatch(batch);
  }

  #closeBatch(batch: CallBatch): void {
    if (batch.timer === undefined) return;
    this.clock.clearTimeout(batch.timer);
    batch.timer = undefined;
    this.#stopHooks.delete(batch.onStop);
    if (this.#currentBatch === batch) this.#currentBatch = undefined;
    if (batch.calls.size === 0) this.#returnController(batch.controller);
  }

  /**
   * An abort controller for a batch of calls or probes. Creating one costs more than a
   * simulated tick, so one that was never aborted and has no listener left is reused.
   */
  #takeController(): AbortController {
    return this.#spareControllers.pop() ?? new AbortController();
  }

  #returnController(controller: AbortController): void {
    if (this.#spareControllers.length >= 4 || controller.signal.aborted) return;
    if (getEventListeners(controller.signal, 'abort').length > 0) return;
    this.#spareControllers.push(controller);
  }

  #updateFallback(): void {
    let onDemand = 0;
    for (const tracked of this.#replicas.values()) {
      if (tracked.capacityType === 'on-demand' && isAlive(tracked.status)) onDemand++;
    }
    const active = onDemand > this.#baseOnDemand;
    if (active === this.#fallbackActive) return;
    this.#fallbackActive = active;
    this.#emit(active ? 'fallback-start' : 'fallback-end', {
      onDemand,
      base: this.#baseOnDemand,
    });
  }

  /** Writes changed records, deletes released ones, and the policy state if it changed. */
  async #persist(): Promise<void> {
    const replicas: ReplicaRecord[] = [];
    for (const tracked of this.#replicas.values()) {
      if (!tracked.dirty) continue;
      tracked.dirty = false;
      replicas.push(toRecord(tracked));
    }
    let policyState: JsonValue | undefined;
    let policyCopy: JsonValue | undefined;
    try {
      policyState = this.policy.snapshot();
      // Compared structurally every tick; serialized (which also checks it is JSON) and
      // copied (a policy may mutate what it returned) only when it changed.
      if (!jsonEqual(policyState, this.#lastPolicyState)) {
        policyCopy = JSON.parse(JSON.stringify(policyState)) as JsonValue;
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'policy.snapshot threw');
    }
    const policyChanged = policyCopy !== undefined;
    const deleteReplicas = this.#pendingDeletes;
    const deleteIntents = this.#pendingIntentDeletes;
    const intents = this.#pendingIntentWrites;
    if (
      replicas.length === 0 &&
      deleteReplicas.length === 0 &&
      deleteIntents.length === 0 &&
      intents.length === 0 &&
      !policyChanged
    ) {
      return;
    }
    this.#pendingDeletes = [];
    this.#pendingIntentDeletes = [];
    this.#pendingIntentWrites = [];
    const write: StateWrite = {
      replicas,
      deleteReplicas,
      intents,
      deleteIntents,
      policyState: policyChanged ? policyState : undefined,
    };
    try {
      await this.store.write(this.service, write, { fence: this.#lease });
    } catch (error) {
      // Keep the changes for the next attempt.
      for (const record of replicas) {
        const tracked = this.#replicas.get(record.id);
        if (tracked !== undefined) tracked.dirty = true;
      }
      this.#pendingDeletes.push(...deleteReplicas);
      this.#pendingIntentDeletes.push(...deleteIntents);
      this.#pendingIntentWrites.push(...intents);
      if (LeaseLostError.isInstance(error)) this.#loseLease();
      throw error;
    }
    if (policyChanged) this.#lastPolicyState = policyCopy;
  }

  /** Drain ready replicas, terminate everything, sweep tagged leftovers. */
  async #terminateAll(signal: AbortSignal | undefined): Promise<void> {
    const now = this.clock.now();
    let drainUntil = now;
    for (const tracked of this.#replicas.values()) {
      const status = tracked.status;
      if ((status === 'ready' || status === 'not-ready') && this.#drainMs > 0) {
        const until = now + this.#drainMs;
        this.#setState(tracked, { type: 'drain', until, reason: 'service stop' });
        this.#emit('replica-drain', {
          ...this.#replicaFields(tracked),
          until,
          reason: 'service stop',
        });
        drainUntil = until;
      }
    }
    await this.#persist();
    if (drainUntil > now) {
      await this.clock.sleep(drainUntil - now, signal).catch(() => undefined);
    }
    // The drain may outlast the lease: renew it before terminating (provider calls need a
    // live lease); if another host took over meanwhile, the fleet is its to manage.
    if (
      this.#leaseOptions !== undefined &&
      !(await this.#holdLease(this.clock.now()).catch(() => false))
    ) {
      return;
    }
    const work: Promise<void>[] = [];
    for (const tracked of this.#replicas.values()) {
      const status = tracked.status;
      if (status === 'pending' || isFinalStatus(status)) continue;
      this.#setState(tracked, { type: 'terminate', reason: 'service stop' });
    }
    await this.#persist();
    for (const tracked of [...this.#replicas.values()]) {
      if (tracked.status === 'terminating' || !tracked.released) {
        work.push(this.#terminate(tracked));
      }
    }
    await Promise.all(work);
    // Sweep: anything still alive with our tags (unresolved intents, late listings).
    const listings = await this.#listAll();
    for (const [name, instances] of listings) {
      const provider = this.#providers.get(name)!;
      for (const instance of instances ?? []) {
        if (!ALIVE_INSTANCE.has(instance.state)) continue;
        this.#sweep(provider, instance, instance.tags[OwnershipTag.Replica] ?? '', 'service stop');
      }
      if (instances !== undefined) {
        for (const tracked of [...this.#replicas.values()]) {
          if (tracked.provider.name !== name) continue;
          if (tracked.status === 'pending') {
            this.#setState(tracked, { type: 'terminate', reason: 'service stop' });
          }
          if (tracked.status === 'terminating') this.#finishTerminate(tracked);
          this.#release(tracked);
        }
      }
    }
    await this.#persist();
  }
}

function locationView(
  location: Location,
  spotPrice: number | undefined,
  onDemandPrice: number | undefined,
): LocationView {
  return {
    id: location.id,
    cloud: location.cloud,
    region: location.region,
    zone: location.zone,
    spotPrice,
    onDemandPrice,
  };
}

/**
 * Structural equality of two JSON values. By hand because it runs on every tick's policy
 * snapshot: about 3x faster than comparing `JSON.stringify` output and than
 * `util.isDeepStrictEqual` on a typical snapshot, and it allocates nothing.
 */
function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as readonly JsonValue[];
    if (a.length !== other.length) return false;
    for (let index = 0; index < a.length; index++) {
      if (!jsonEqual(a[index], other[index])) return false;
    }
    return true;
  }
  const left = a as { readonly [key: string]: JsonValue };
  const right = b as { readonly [key: string]: JsonValue };
  let keys = 0;
  for (const key in left) {
    keys++;
    if (!Object.hasOwn(right, key) || !jsonEqual(left[key], right[key])) return false;
  }
  for (const key in right) if (Object.hasOwn(right, key)) keys--;
  return keys === 0;
}

function replicaView(tracked: Tracked): ReplicaView {
  const state = tracked.state;
  return {
    id: tracked.id,
    location: tracked.location,
    capacityType: tracked.capacityType,
    status: state.status,
    launchedAt: tracked.launchedAt,
    readyAt: 'readyAt' in state ? state.readyAt : undefined,
    interruptionNoticedAt: tracked.interruptionNoticedAt,
  };
}

function toRecord(tracked: Tracked): ReplicaRecord {
  return {
    id: tracked.id,
    provider: tracked.provider.name,
    location: tracked.location,
    instanceType: tracked.instanceType,
    capacityType: tracked.capacityType,
    idempotencyKey: tracked.idempotencyKey,
    launchedAt: tracked.launchedAt,
    state: tracked.state,
    instanceId: tracked.instanceId,
    endpoint: tracked.endpoint,
    interruptionNoticedAt: tracked.interruptionNoticedAt,
    released: tracked.released,
  };
}

function sanitizeId(value: string): string {
  return value
    .toLowerCase()
    .replaceAll(/[^a-z0-9-]/g, '-')
    .slice(0, 48);
}
