/**
 * The facade a host embeds: one call wires the spec, the providers, the policy, the
 * reconciler, the autoscaler, the router, the store, events, logs and metrics.
 */
import type { Meter } from '@opentelemetry/api';
import { SystemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import {
  IllegalStateError,
  InvalidArgumentError,
  InvalidSpecError,
  describeValue,
} from '../errors.js';
import type { Issue } from '../errors.js';
import { Autoscaler } from '../engine/autoscaler.js';
import type { EngineEventHandler, EngineEventName } from '../engine/engine-events.js';
import { childLogger, silentLogger } from '../engine/logger.js';
import type { Logger } from '../engine/logger.js';
import { MemoryStateStore } from '../engine/memory-state-store.js';
import type { Prober, ReadinessProbeOptions } from '../engine/prober.js';
import { ReplicaManager } from '../engine/replica-manager.js';
import type {
  LeaseOptions,
  ManagerStatus,
  ReadyReplica,
  RetryOptions,
} from '../engine/replica-manager.js';
import type { StateStore } from '../engine/state-store.js';
import { OnDemandOnlyPolicy } from '../policy/on-demand-only-policy.js';
import { SpotHedgePolicy } from '../policy/spot-hedge-policy.js';
import type { Policy } from '../policy/types.js';
import type { ProviderV1 } from '../provider.js';
import type { ProxyHandler } from '../router/proxy-handler.js';
import { Router } from '../router/router.js';
import type { RequestRecorder, RouterOptions } from '../router/router.js';
import { parseServiceSpec } from '../spec/service-spec.js';
import type { ServiceSpec, ServiceSpecInput } from '../spec/service-spec.js';
import { ServiceMetrics } from './service-metrics.js';

/** Options of {@link createService}. */
export interface CreateServiceOptions {
  /** The service spec (validated here; a bad one throws `InvalidSpecError`). */
  readonly spec: ServiceSpecInput | ServiceSpec;
  /** Providers whose locations cover `spec.locations`. */
  readonly providers: readonly ProviderV1[];
  /**
   * Placement policy.
   * @default SpotHedgePolicy from `spec.spot` (OnDemandOnlyPolicy when `spot.enabled` is false)
   */
  readonly policy?: Policy | undefined;
  /**
   * Where state lives. Pass `@spothedge/store-sqlite` to survive restarts.
   * @default new MemoryStateStore() (closed by stop/destroy; a passed store is not)
   */
  readonly store?: StateStore | undefined;
  /** @default new SystemClock() */
  readonly clock?: Clock | undefined;
  /**
   * pino-compatible logger.
   * @default silent
   */
  readonly logger?: Logger | undefined;
  /**
   * Readiness prober.
   * @default HTTP prober (undici) built from `spec.readinessProbe`
   */
  readonly prober?: Prober | undefined;
  /** Extra router settings (`replicaHeaders`, timeouts, ...). */
  readonly router?: Omit<RouterOptions, 'clock' | 'recorder' | 'loadBalancing'> | undefined;
  /**
   * OpenTelemetry meter.
   * @default metrics.getMeter('@spothedge/core') (no-op unless the host registers an SDK)
   */
  readonly meter?: Meter | undefined;
  /**
   * Time between reconcile ticks.
   * @default 10_000
   */
  readonly tickIntervalMs?: number | undefined;
  /**
   * Drain time of a scaled-down replica.
   * @default 30_000
   */
  readonly drainMs?: number | undefined;
  /** Provider-call retries (throttling, 5xx, timeouts). */
  readonly retry?: RetryOptions | undefined;
  /**
   * Time budget of one provider call.
   * @default 120_000
   */
  readonly callTimeoutMs?: number | undefined;
  /** Leader election for many hosts sharing one store. */
  readonly lease?: LeaseOptions | undefined;
  /**
   * Also told of every request the router records (the autoscaler always is), e.g. to share
   * this host's request rate with the leader through a shared store.
   * @default undefined
   */
  readonly requestRecorder?: RequestRecorder | undefined;
  /**
   * Seed for jitter (reproducible virtual-time runs).
   * @default 0
   */
  readonly seed?: number | undefined;
  /** New replica ids. */
  readonly idGenerator?: (() => string) | undefined;
}

/** Options of {@link Service.stop}. */
export interface ServiceStopOptions {
  /**
   * Terminate every replica (ready ones drain first). `false` leaves the fleet running for
   * the next `start()` (with a durable store) to adopt.
   * @default false
   */
  readonly terminate?: boolean | undefined;
  /** Aborts waiting for drains. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link Service.status} reports. */
export interface ServiceStatus extends ManagerStatus {
  /** `idle`, `running`, `stopping`, `stopped` or `destroyed`. */
  readonly lifecycle: 'idle' | 'running' | 'stopping' | 'stopped' | 'destroyed';
  /** Request rate over the autoscaler window (requests/s). */
  readonly qps: number;
  /** Requests being served now. */
  readonly inFlight: number;
  /** Replicas the router uses. */
  readonly ready: readonly ReadyReplica[];
}

/** A running service: the object {@link createService} returns. */
export interface Service {
  readonly name: string;
  /** The validated spec, defaults applied. */
  readonly spec: ServiceSpec;
  readonly manager: ReplicaManager;
  readonly autoscaler: Autoscaler;
  readonly router: Router;
  /** Adopts what a previous run left, runs the first tick, then ticks on the clock. */
  start(): Promise<void>;
  /** Graceful: stop ticking, optionally drain and terminate, close the router after in-flight requests. */
  stop(options?: ServiceStopOptions): Promise<void>;
  /** Immediate: abort calls and requests, terminate nothing, release every handle. */
  destroy(): Promise<void>;
  status(): ServiceStatus;
  /** Subscribes to an engine event; returns the unsubscribe function. */
  on<Name extends EngineEventName>(name: Name, handler: EngineEventHandler<Name>): () => void;
  /** Routes one request to a ready replica (`Response` streams). */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** A `(req, res, next?)` handler for node:http, express or fastify. */
  handler(): ProxyHandler;
  /** Runs one reconcile tick now (also usable without `start()`, e.g. under a virtual clock). */
  reconcile(): Promise<void>;
}

/** Policy built from `spec.spot`. */
export function defaultPolicy(spec: ServiceSpec): Policy {
  if (!spec.spot.enabled) return new OnDemandOnlyPolicy();
  return new SpotHedgePolicy({
    overprovision: spec.spot.overprovision,
    baseOnDemand: spec.spot.baseOnDemand,
    dynamicFallback: spec.spot.dynamicFallback,
    placement: spec.spot.placement,
  });
}

function readinessOf(spec: ServiceSpec): ReadinessProbeOptions {
  const probe = spec.readinessProbe;
  return {
    path: probe.path,
    method: probe.method,
    body: probe.body as ReadinessProbeOptions['body'],
    headers: probe.headers,
    initialDelayMs: probe.initialDelaySeconds * 1000,
    timeoutMs: probe.timeoutSeconds * 1000,
    periodMs: probe.periodSeconds * 1000,
    failureThreshold: probe.failureThreshold,
  };
}

/**
 * Creates a service. Validates everything before anything can be launched: a bad spec
 * throws `InvalidSpecError` (every problem, each naming the field and the value), bad
 * options `InvalidArgumentError`. Nothing runs until `start()`.
 *
 * @example
 * ```ts
 * const service = createService({
 *   spec: { name: 'chat', replicas: { min: 2, max: 6 }, targetQpsPerReplica: 4,
 *           locations: ['aws/us-east-1/us-east-1a', 'aws/us-east-1/us-east-1b'],
 *           instanceType: 'g5.xlarge', readinessProbe: { path: '/v1/models' } },
 *   providers: [createAwsProvider({ region: 'us-east-1' })],
 *   store: new SqliteStateStore({ path: './spothedge.db' }),
 * });
 * service.on('replica-preempt', (event) => log.warn(event, 'preempted'));
 * await service.start();
 * http.createServer(service.handler()).listen(8000);
 * ```
 */
export function createService(options: CreateServiceOptions): Service {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(
      `Expected \`options\` to be an object, got ${describeValue(options)}`,
      { argument: 'options', value: options },
    );
  }
  const spec = parseServiceSpec(options.spec);
  if (!Array.isArray(options.providers) || options.providers.length === 0) {
    throw new InvalidArgumentError(
      `Expected \`providers\` to be a non-empty array, got ${describeValue(options.providers)}`,
      { argument: 'providers', value: options.providers },
    );
  }
  const known = new Set<string>();
  for (const provider of options.providers) {
    if (typeof provider?.locations !== 'function') {
      throw new InvalidArgumentError(
        `Expected every \`providers\` entry to be a ProviderV1, got ${describeValue(provider)}`,
        { argument: 'providers', value: provider },
      );
    }
    for (const location of provider.locations()) known.add(location.id);
  }
  const issues: Issue[] = [];
  spec.locations.forEach((location, index) => {
    if (!known.has(location)) {
      issues.push({
        path: `locations.${index}`,
        message: `a location of one of the providers (${[...known].slice(0, 5).join(', ')}${known.size > 5 ? ', ...' : ''}), got ${describeValue(location)}`,
        value: location,
      });
    }
  });
  if (issues.length > 0) throw new InvalidSpecError(issues);

  const clock = options.clock ?? new SystemClock();
  const logger = childLogger(options.logger ?? silentLogger, { service: spec.name });
  const ownsStore = options.store === undefined;
  const store = options.store ?? new MemoryStateStore();
  const autoscaler = new Autoscaler({
    minReplicas: spec.replicas.min,
    maxReplicas: spec.replicas.max,
    targetQpsPerReplica: spec.targetQpsPerReplica,
    upscaleDelayMs: spec.upscaleDelaySeconds * 1000,
    downscaleDelayMs: spec.downscaleDelaySeconds * 1000,
  });
  const router = new Router({
    ...options.router,
    clock,
    recorder:
      options.requestRecorder === undefined
        ? autoscaler
        : {
            record(at) {
              autoscaler.record(at);
              options.requestRecorder!.record(at);
            },
          },
    loadBalancing: spec.loadBalancing,
    logger: options.router?.logger ?? {
      debug: (message, fields) => logger.debug({ ...fields }, message),
      warn: (message, fields) => logger.warn({ ...fields }, message),
    },
  });
  const manager = new ReplicaManager({
    service: spec.name,
    providers: options.providers,
    policy: options.policy ?? defaultPolicy(spec),
    store,
    clock,
    prober: options.prober,
    readinessProbe: readinessOf(spec),
    target: autoscaler,
    maxReplicas: 2 * spec.replicas.max + spec.spot.overprovision,
    locations: spec.locations,
    instanceTypes: typeof spec.instanceType === 'string' ? [spec.instanceType] : spec.instanceType,
    startupScript: spec.startupScript,
    replicaPort: spec.port,
    tickIntervalMs: options.tickIntervalMs,
    drainMs: options.drainMs,
    retry: options.retry,
    callTimeoutMs: options.callTimeoutMs,
    baseOnDemand: spec.spot.enabled ? spec.spot.baseOnDemand : spec.replicas.max,
    lease: options.lease,
    logger,
    seed: options.seed,
    idGenerator: options.idGenerator,
    onReadyChange: (replicas) => router.setReplicas(replicas),
  });
  const serviceMetrics = new ServiceMetrics({ manager, meter: options.meter });
  let lifecycle: ServiceStatus['lifecycle'] = 'idle';

  async function release(): Promise<void> {
    serviceMetrics.close();
    await Promise.all(
      options.providers.map((provider) => provider.close?.().catch(() => undefined)),
    );
    if (ownsStore) await store.close();
  }

  return {
    name: spec.name,
    spec,
    manager,
    autoscaler,
    router,
    async start() {
      if (lifecycle !== 'idle' && lifecycle !== 'running') {
        throw new IllegalStateError(
          `Cannot start service \`${spec.name}\` in state \`${lifecycle}\``,
          {
            state: lifecycle,
          },
        );
      }
      lifecycle = 'running';
      logger.info({ locations: spec.locations.length }, 'service starting');
      await manager.start();
    },
    async stop(stopOptions: ServiceStopOptions = {}) {
      if (lifecycle === 'stopped' || lifecycle === 'destroyed' || lifecycle === 'stopping') return;
      lifecycle = 'stopping';
      await manager.stop({ terminate: stopOptions.terminate, signal: stopOptions.signal });
      router.setReplicas([]);
      await router.close();
      await release();
      lifecycle = 'stopped';
      logger.info({ terminate: stopOptions.terminate === true }, 'service stopped');
    },
    async destroy() {
      if (lifecycle === 'destroyed') return;
      lifecycle = 'destroyed';
      await Promise.all([manager.destroy(), router.destroy()]);
      await release();
    },
    status() {
      const now = clock.now();
      return {
        ...manager.status(),
        lifecycle,
        qps: autoscaler.qps(now),
        inFlight: router.inFlight,
        ready: manager.readyReplicas(),
      };
    },
    on(name, handler) {
      return manager.on(name, handler);
    },
    fetch(input, init) {
      return router.fetch(input, init);
    },
    handler() {
      return router.handler();
    },
    reconcile() {
      return manager.reconcile();
    },
  };
}
