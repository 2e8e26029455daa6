/**
 * An in-memory cloud that implements {@link ProviderV1}, for tests, demos and the engine's
 * crash tests. Capacity, preemptions, boot time, launch latency and faults are scripted;
 * every call is recorded. Instance states are computed lazily from the injected clock, so
 * the fake needs no timers and works the same on a `ManualClock` and on the wall clock.
 */
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { SystemClock, type Clock } from '../clock.js';
import {
  CapacityUnavailableError,
  InstanceNotFoundError,
  InvalidArgumentError,
  InvalidConfigError,
  NotOwnedError,
  ProviderError,
  describeValue,
  throwIfAborted,
} from '../errors.js';
import {
  CAPACITY_TYPES,
  hasTags,
  isOwnedBy,
  parseLocationId,
  type CallContext,
  type CapacityType,
  type Instance,
  type InstanceState,
  type InterruptionNotice,
  type LaunchRequest,
  type ListRequest,
  type Location,
  type Offering,
  type ProviderV1,
  type TerminateRequest,
} from '../provider.js';

/**
 * One step of a capacity schedule: from clock time `at` on, the capacity is `capacity`.
 * @example { at: 600_000, capacity: 0 } // no spot capacity from minute 10 on
 */
export interface CapacityStep {
  /** Clock time (ms, as read from the provider's clock) at which this step starts. */
  readonly at: number;
  /** How many instances of the capacity type fit in the location from `at` on. */
  readonly capacity: number;
}

/**
 * How many instances of one capacity type a location holds, over time:
 * - a number (`Infinity` for unlimited);
 * - a function of the location id and the clock time, sampled whenever the fake is called;
 * - a schedule of {@link CapacityStep}s (unlimited before the first step); every step
 *   passed since the last call is applied in order, so a short dip still preempts.
 */
export type CapacityScript =
  number | ((location: string, now: number) => number) | readonly CapacityStep[];

/**
 * A {@link CapacityScript} for every location, or one per location id (absent: unlimited).
 * @example { 'fake/us-east-1/us-east-1a': 2, 'fake/us-east-1/us-east-1b': (location, now) => (now < 60_000 ? 0 : 4) }
 */
export type CapacityOption = CapacityScript | Readonly<Record<string, CapacityScript>>;

/**
 * Hourly prices (USD per instance-hour) of one location.
 * @example { spot: 0.8, onDemand: 3 }
 */
export interface FakeLocationPrice {
  /** @default the provider's `spotPrice` */
  readonly spot?: number;
  /** @default 3 × the location's spot price */
  readonly onDemand?: number;
}

/** The provider methods the fake records and can fail (`locations()` is neither). */
export type FakeProviderMethod = 'offerings' | 'launch' | 'list' | 'terminate' | 'interruptions';

/** How a recorded call ended (`pending` while it runs, e.g. during launch latency). */
export type FakeCallOutcome =
  | { readonly status: 'pending' }
  | { readonly status: 'resolved'; readonly value: unknown }
  | { readonly status: 'rejected'; readonly error: unknown };

interface FakeCallBase {
  /** Clock time at which the call started. */
  readonly at: number;
  /** Updated in place when the call settles. */
  outcome: FakeCallOutcome;
}

/**
 * One recorded call, discriminated on `method` so `request` is typed.
 * @example
 * ```ts
 * const launched = provider.calls.filter((call) => call.method === 'launch');
 * expect(launched.map((call) => call.request.capacityType)).toEqual(['spot', 'on-demand']);
 * ```
 */
export type FakeProviderCall =
  | (FakeCallBase & { readonly method: 'offerings'; readonly request: undefined })
  | (FakeCallBase & { readonly method: 'launch'; readonly request: LaunchRequest })
  | (FakeCallBase & { readonly method: 'list'; readonly request: ListRequest })
  | (FakeCallBase & { readonly method: 'terminate'; readonly request: TerminateRequest })
  | (FakeCallBase & { readonly method: 'interruptions'; readonly request: ListRequest });

/**
 * Options of {@link FakeProvider.failNext}.
 * @example { times: 2, error: new ThrottledError('Rate exceeded', { retryAfterMs: 1_000 }) }
 */
export interface FailNextOptions {
  /**
   * The error to throw, or a factory called per failing call.
   * @default a retryable `ProviderError` with `providerCode: 'InjectedFault'`
   */
  readonly error?: Error | ((call: FakeProviderCall) => Error);
  /**
   * How many of the next calls fail.
   * @default 1
   */
  readonly times?: number;
  /**
   * Fail only after the call took effect (the cloud accepted the launch or the terminate,
   * then the response was lost), like a network failure after the request was sent.
   * @default false
   */
  readonly afterEffect?: boolean;
}

/**
 * Options of {@link FakeProvider}. Everything is optional.
 * @example { clock: new ManualClock(), locations: 4, bootMs: 60_000, spotCapacity: 2 }
 */
export interface FakeProviderOptions {
  /**
   * Provider name, also the cloud part of generated location ids.
   * @default 'fake'
   */
  readonly name?: string;
  /**
   * Location ids (`cloud/region/zone` or `cloud/region`), or how many to generate
   * (`<name>/us-east-1/us-east-1a`, `…/us-east-1b`, `…/us-east-1c`, `<name>/us-west-2/us-west-2a`, …).
   * @default 3
   */
  readonly locations?: readonly string[] | number;
  /**
   * The one instance type offered (shorthand for `instanceTypes: [instanceType]`).
   * @default 'fake.large'
   */
  readonly instanceType?: string;
  /**
   * Instance types offered in every location. Launching another type fails with
   * `InvalidConfigError`.
   * @default ['fake.large']
   */
  readonly instanceTypes?: readonly string[];
  /**
   * Default spot price per instance-hour (USD).
   * @default 1
   */
  readonly spotPrice?: number;
  /**
   * Prices per location id: a number is the spot price; on-demand defaults to 3 × spot.
   * @default {} (every location at `spotPrice`)
   */
  readonly prices?: Readonly<Record<string, number | FakeLocationPrice>>;
  /**
   * Time source for launch times, boot, capacity scripts and notices.
   * @default new SystemClock()
   */
  readonly clock?: Clock;
  /**
   * Spot capacity per location over time. When it drops below the number of live spot
   * instances in a location, the newest excess ones are preempted
   * (`stateReason: 'capacity-drop'`); spot launches beyond it throw
   * `CapacityUnavailableError`.
   * @default Infinity
   * @example [{ at: 0, capacity: 2 }, { at: 60_000, capacity: 0 }, { at: 120_000, capacity: 2 }]
   */
  readonly spotCapacity?: CapacityOption;
  /**
   * On-demand capacity per location (launches beyond it fail; on-demand is never
   * preempted).
   * @default Infinity
   */
  readonly onDemandCapacity?: CapacityOption;
  /**
   * Clock time an instance stays `pending` before it is `running`.
   * @default 0
   */
  readonly bootMs?: number;
  /**
   * Clock time `launch` takes to answer. The cloud accepts the launch at once (the instance
   * exists and is persisted), then the call waits on the clock — the window in which a
   * crashing caller has asked the cloud but not recorded the answer. With a `ManualClock`,
   * advance it to let the call return.
   * @default 0
   */
  readonly launchLatencyMs?: number;
  /**
   * The endpoint reported for a running instance.
   * @default (instance) => `http://fake.invalid/${instance.id}`
   */
  readonly endpointFor?: (instance: Instance) => string;
  /**
   * Fault hook, called for every recorded call before it takes effect; return an error to
   * make the call reject with it (nothing happens).
   * @default undefined
   * @example ({ method }) => (method === 'launch' && random() < 0.2 ? new ThrottledError('slow down') : undefined)
   */
  readonly faults?: (call: FakeProviderCall) => Error | undefined;
  /**
   * Whether the provider has the `interruptions()` capability.
   * @default true
   */
  readonly interruptions?: boolean;
  /**
   * How long (clock ms) `list` keeps reporting preempted and terminated instances.
   * `instances()` always reports them.
   * @default 3_600_000
   */
  readonly retainEndedMs?: number;
  /**
   * A JSON file holding the whole fake cloud (instances, idempotency keys, notices,
   * capacity and price overrides). Loaded on construction when it exists; rewritten
   * synchronously and atomically (write, then rename) on every mutation, so a process that
   * is killed and restarted sees the same cloud. Processes may share it one after the
   * other, never at the same time. Scripts, faults and recorded calls are not persisted.
   * @default undefined (memory only)
   */
  readonly storagePath?: string;
}

/**
 * An instance as {@link FakeProvider.instances} reports it: the provider view plus test facts.
 * @example expect(provider.instance(id)).toMatchObject({ state: 'preempted', stateReason: 'capacity-drop' })
 */
export interface FakeInstance extends Instance {
  readonly idempotencyKey: string | undefined;
  readonly startupScript: string | undefined;
  /** Created with {@link FakeProvider.createForeignInstance}. */
  readonly foreign: boolean;
  /** Clock time it was preempted or terminated. */
  readonly endedAt: number | undefined;
}

/**
 * Options of {@link FakeProvider.createForeignInstance}.
 * @example { capacityType: 'spot', tags: { team: 'data' } }
 */
export interface ForeignInstanceOptions {
  /** @default 'on-demand' (so it never takes spot capacity) */
  readonly capacityType?: CapacityType;
  /** @default the first instance type */
  readonly instanceType?: string;
  /** @default { owner: 'someone-else' } */
  readonly tags?: Readonly<Record<string, string>>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type CapacityOverride = Partial<Record<CapacityType, number | null>>; // null: unlimited

interface StoredInstance {
  readonly id: string;
  readonly seq: number;
  readonly location: string;
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  readonly tags: Record<string, string>;
  readonly launchedAt: number;
  readonly startupScript?: string | undefined;
  readonly idempotencyKey?: string | undefined;
  readonly foreign?: boolean | undefined;
  end?: { state: 'preempted' | 'terminated'; at: number; reason: string } | undefined;
  preemptAt?: number | undefined;
}

interface FakeCloudState {
  version: 1;
  nextSeq: number;
  settledAt: number | null;
  instances: StoredInstance[];
  idempotencyKeys: Record<string, string>;
  notices: Mutable<InterruptionNotice>[];
  capacityOverrides: Record<string, CapacityOverride>;
  priceOverrides: Record<string, FakeLocationPrice>;
}

interface PendingFault {
  readonly method: FakeProviderMethod | '*';
  readonly error: Error | ((call: FakeProviderCall) => Error) | undefined;
  remaining: number;
  readonly afterEffect: boolean;
}

const GENERATED_REGIONS = [
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-northeast-1',
  'ap-southeast-2',
];
const IDEMPOTENCY_KEY = /^[a-z0-9-]{1,64}$/;
const DEFAULT_NOTICE_MS = 120_000;

function emptyState(): FakeCloudState {
  return {
    version: 1,
    nextSeq: 1,
    settledAt: null,
    instances: [],
    idempotencyKeys: {},
    notices: [],
    capacityOverrides: {},
    priceOverrides: {},
  };
}

function generatedLocations(name: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const regionIndex = Math.floor(index / 3);
    const region = GENERATED_REGIONS[regionIndex] ?? `region-${regionIndex + 1}`;
    return `${name}/${region}/${region}${'abc'[index % 3]!}`;
  });
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && !Number.isNaN(value) && value >= 0;
}

function isAlive(record: StoredInstance): boolean {
  return record.end === undefined;
}

/**
 * An in-memory cloud implementing {@link ProviderV1}.
 *
 * - Launches succeed while the location has capacity for the capacity type; spot launches
 *   beyond it throw `CapacityUnavailableError`. Same `idempotencyKey` → same instance.
 * - Instances are `pending` for `bootMs`, then `running` (computed from the clock).
 * - {@link FakeProvider.setCapacity}, capacity scripts, {@link FakeProvider.preempt} and
 *   {@link FakeProvider.notice} script the cloud; {@link FakeProvider.failNext} and the
 *   `faults` option inject errors; {@link FakeProvider.calls} records every call.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const provider = new FakeProvider({ clock, locations: 2, bootMs: 30_000 });
 * const [zoneA] = provider.locations();
 * const instance = await provider.launch({
 *   location: zoneA!.id,
 *   capacityType: 'spot',
 *   instanceType: 'fake.large',
 *   tags: serviceOwnershipTags('chat'),
 *   idempotencyKey: 'chat-r1',
 * });
 * provider.setCapacity(zoneA!.id, 0); // preempts it
 * ```
 */
export class FakeProvider implements ProviderV1 {
  readonly specificationVersion = 'v1' as const;
  /** @default 'fake' */
  readonly name: string;
  /**
   * Current interruption notices for live instances carrying `request.tags`. Present only
   * when the `interruptions` option is not `false`.
   */
  declare readonly interruptions?: (
    request: ListRequest,
    context?: CallContext,
  ) => Promise<readonly InterruptionNotice[]>;

  readonly #clock: Clock;
  readonly #locations: readonly Location[];
  readonly #locationIds: ReadonlySet<string>;
  readonly #instanceTypes: readonly string[];
  readonly #spotPrice: number;
  readonly #prices: Readonly<Record<string, number | FakeLocationPrice>>;
  readonly #spotCapacity: CapacityOption | undefined;
  readonly #onDemandCapacity: CapacityOption | undefined;
  readonly #bootMs: number;
  readonly #launchLatencyMs: number;
  readonly #retainEndedMs: number;
  readonly #endpointFor: ((instance: Instance) => string) | undefined;
  readonly #faultHook: ((call: FakeProviderCall) => Error | undefined) | undefined;
  readonly #storagePath: string | undefined;
  readonly #calls: FakeProviderCall[] = [];
  readonly #pendingFaults: PendingFault[] = [];
  #state: FakeCloudState;
  readonly #byId = new Map<string, StoredInstance>();

  constructor(options: FakeProviderOptions = {}) {
    this.name = options.name ?? 'fake';
    if (!/^[a-z0-9][a-z0-9-]*$/.test(this.name)) {
      throw new InvalidConfigError(
        `Expected \`name\` to be lowercase letters, digits and dashes, got ${describeValue(options.name)}`,
        { setting: 'name', value: options.name },
      );
    }
    this.#clock = options.clock ?? new SystemClock();

    const locationOption = options.locations ?? 3;
    let locationIds: readonly string[];
    if (typeof locationOption === 'number') {
      if (!Number.isInteger(locationOption) || locationOption < 1) {
        throw new InvalidConfigError(
          `Expected \`locations\` to be a positive integer or a list of location ids, got ${describeValue(locationOption)}`,
          { setting: 'locations', value: locationOption },
        );
      }
      locationIds = generatedLocations(this.name, locationOption);
    } else {
      locationIds = locationOption;
      const bad = locationIds.find(
        (id) => typeof id !== 'string' || !/^[^/\s]+\/[^/\s]+(\/[^/\s]+)?$/.test(id as string),
      );
      if (locationIds.length === 0 || bad !== undefined) {
        throw new InvalidConfigError(
          `Expected \`locations\` to hold ids like \`cloud/region/zone\`, got ${describeValue(locationOption)}`,
          { setting: 'locations', value: locationOption },
        );
      }
    }
    this.#locationIds = new Set(locationIds);
    this.#locations = [...this.#locationIds].map((id) => parseLocationId(id));

    if (options.instanceType !== undefined && options.instanceTypes !== undefined) {
      throw new InvalidConfigError('Set either `instanceType` or `instanceTypes`, not both', {
        setting: 'instanceTypes',
        value: options.instanceTypes,
      });
    }
    const instanceTypes =
      options.instanceTypes ??
      (options.instanceType === undefined ? ['fake.large'] : [options.instanceType]);
    if (
      instanceTypes.length === 0 ||
      instanceTypes.some((type) => typeof type !== 'string' || type === '')
    ) {
      throw new InvalidConfigError(
        `Expected \`instanceTypes\` to be non-empty strings, got ${describeValue(instanceTypes)}`,
        { setting: 'instanceTypes', value: instanceTypes },
      );
    }
    this.#instanceTypes = [...instanceTypes];

    this.#spotPrice = this.#checkNumber('spotPrice', options.spotPrice ?? 1, { positive: true });
    this.#prices = options.prices ?? {};
    for (const [location, price] of Object.entries(this.#prices)) {
      this.#checkLocationSetting('prices', location);
      const values = typeof price === 'number' ? [price] : [price.spot, price.onDemand];
      for (const value of values) {
        if (value !== undefined)
          this.#checkNumber(`prices["${location}"]`, value, { positive: true });
      }
    }
    this.#spotCapacity = this.#checkCapacityOption('spotCapacity', options.spotCapacity);
    this.#onDemandCapacity = this.#checkCapacityOption(
      'onDemandCapacity',
      options.onDemandCapacity,
    );
    this.#bootMs = this.#checkNumber('bootMs', options.bootMs ?? 0);
    this.#launchLatencyMs = this.#checkNumber('launchLatencyMs', options.launchLatencyMs ?? 0);
    this.#retainEndedMs = this.#checkNumber('retainEndedMs', options.retainEndedMs ?? 3_600_000);
    this.#endpointFor = options.endpointFor;
    this.#faultHook = options.faults;
    this.#storagePath = options.storagePath;
    this.#state = this.#load();
    for (const record of this.#state.instances) this.#byId.set(record.id, record);

    if (options.interruptions !== false) {
      this.interruptions = (request, context) =>
        this.#call('interruptions', request, context, () => this.#interruptions(request));
    }
  }

  // ---------------------------------------------------------------- ProviderV1

  locations(): readonly Location[] {
    return this.#locations;
  }

  offerings(context?: CallContext): Promise<readonly Offering[]> {
    return this.#call('offerings', undefined, context, () => {
      const now = this.#clock.now();
      const offerings: Offering[] = [];
      for (const location of this.#locations) {
        for (const instanceType of this.#instanceTypes) {
          for (const capacityType of CAPACITY_TYPES) {
            offerings.push({
              location: location.id,
              instanceType,
              capacityType,
              hourlyPrice: this.price(location.id, capacityType),
              priceAsOf: now,
            });
          }
        }
      }
      return offerings;
    });
  }

  launch(request: LaunchRequest, context?: CallContext): Promise<Instance> {
    return this.#call('launch', request, context, async (failAfterEffect) => {
      const record = this.#launch(request);
      failAfterEffect();
      if (this.#launchLatencyMs > 0) {
        await this.#clock.sleep(this.#launchLatencyMs, context?.abortSignal);
      }
      return this.#view(record, this.#clock.now());
    });
  }

  list(request: ListRequest, context?: CallContext): Promise<readonly Instance[]> {
    return this.#call('list', request, context, () => {
      const now = this.#clock.now();
      return this.#state.instances
        .filter(
          (record) =>
            hasTags(record.tags, request.tags) &&
            (record.end === undefined || now - record.end.at <= this.#retainEndedMs),
        )
        .map((record) => this.#view(record, now));
    });
  }

  terminate(request: TerminateRequest, context?: CallContext): Promise<void> {
    return this.#call('terminate', request, context, (failAfterEffect) => {
      const record = this.#find(request.instanceId);
      if (record === undefined) return;
      if (!isOwnedBy(record.tags, request.tags)) {
        throw new NotOwnedError(
          `Instance \`${request.instanceId}\` does not carry the tags ${describeValue(request.tags)}; refusing to terminate it`,
          { instanceId: request.instanceId },
        );
      }
      if (record.end === undefined) {
        record.end = { state: 'terminated', at: this.#clock.now(), reason: 'user-terminate' };
        this.#save();
      }
      failAfterEffect();
    });
  }

  // ---------------------------------------------------------------- scripting

  /**
   * Overrides the capacity of one capacity type in a location (a script for it is ignored
   * from now on). Lowering spot capacity below the live spot count preempts the newest
   * excess instances at once (`stateReason: 'capacity-drop'`).
   * @example provider.setCapacity('fake/us-east-1/us-east-1a', 0)
   */
  setCapacity(
    location: string,
    capacity: number,
    options: { readonly capacityType?: CapacityType } = {},
  ): void {
    this.#checkLocationArgument(location);
    if (!isNonNegativeNumber(capacity)) {
      throw new InvalidArgumentError(
        `Expected \`capacity\` to be a number >= 0 (or Infinity), got ${describeValue(capacity)}`,
        { argument: 'capacity', value: capacity },
      );
    }
    const capacityType = options.capacityType ?? 'spot';
    this.#settle();
    const override = (this.#state.capacityOverrides[location] ??= {});
    override[capacityType] = capacity === Number.POSITIVE_INFINITY ? null : capacity;
    this.#settle(true);
  }

  /** Removes a {@link FakeProvider.setCapacity} override: the capacity script applies again. */
  clearCapacity(location: string, options: { readonly capacityType?: CapacityType } = {}): void {
    this.#checkLocationArgument(location);
    this.#settle();
    const override = this.#state.capacityOverrides[location];
    if (override !== undefined) delete override[options.capacityType ?? 'spot'];
    this.#settle(true);
  }

  /** The capacity of a capacity type in a location now (`Infinity` when unlimited). */
  capacity(location: string, capacityType: CapacityType = 'spot'): number {
    this.#checkLocationArgument(location);
    return this.#capacityAt(location, capacityType, this.#clock.now());
  }

  /** Changes the hourly prices of a location (on-demand defaults to 3 × the new spot price). */
  setPrice(location: string, price: number | FakeLocationPrice): void {
    this.#checkLocationArgument(location);
    const normalized = typeof price === 'number' ? { spot: price } : { ...price };
    for (const value of [normalized.spot, normalized.onDemand]) {
      if (value !== undefined && !(isNonNegativeNumber(value) && value > 0)) {
        throw new InvalidArgumentError(
          `Expected \`price\` to be a positive number, got ${describeValue(value)}`,
          { argument: 'price', value },
        );
      }
    }
    this.#state.priceOverrides[location] = normalized;
    this.#save();
  }

  /** The hourly price of a capacity type in a location. */
  price(location: string, capacityType: CapacityType): number {
    const configured = this.#state.priceOverrides[location] ?? this.#prices[location];
    const price = typeof configured === 'number' ? { spot: configured } : (configured ?? {});
    const spot = price.spot ?? this.#spotPrice;
    return capacityType === 'spot' ? spot : (price.onDemand ?? spot * 3);
  }

  /**
   * The cloud reclaims an instance now (state `preempted`). Normally a spot instance.
   * Does nothing if it already ended.
   * @default reason 'preempted'
   */
  preempt(instanceId: string, options: { readonly reason?: string } = {}): void {
    const record = this.#require(instanceId);
    this.#settle();
    if (record.end !== undefined) return;
    record.end = {
      state: 'preempted',
      at: this.#clock.now(),
      reason: options.reason ?? 'preempted',
    };
    this.#save();
  }

  /**
   * Issues an interruption notice for a live instance, reported by `interruptions()` until
   * the instance ends. Unless `preemptAtDeadline` is `false`, the instance is preempted at
   * `deadline` (`stateReason: 'interruption'`).
   * @default deadline now + 120_000 (AWS's two-minute warning)
   */
  notice(
    instanceId: string,
    deadline?: number,
    options: { readonly preemptAtDeadline?: boolean } = {},
  ): InterruptionNotice {
    const record = this.#require(instanceId);
    this.#settle();
    const now = this.#clock.now();
    const notice = { instanceId, deadline: deadline ?? now + DEFAULT_NOTICE_MS, noticedAt: now };
    if (record.end === undefined) {
      this.#state.notices = this.#state.notices.filter((item) => item.instanceId !== instanceId);
      this.#state.notices.push(notice);
      if (options.preemptAtDeadline !== false) record.preemptAt = notice.deadline;
      this.#save();
      this.#settle();
    }
    return { ...notice };
  }

  /**
   * Creates an instance that carries none of our ownership tags (someone else's VM in the
   * same account), for ownership tests. Returns its id.
   */
  createForeignInstance(location: string, options: ForeignInstanceOptions = {}): string {
    this.#checkLocationArgument(location);
    this.#settle();
    const record = this.#create({
      location,
      capacityType: options.capacityType ?? 'on-demand',
      instanceType: options.instanceType ?? this.#instanceTypes[0]!,
      tags: { ...(options.tags ?? { owner: 'someone-else' }) },
      foreign: true,
    });
    this.#save();
    return record.id;
  }

  /**
   * Makes the next `times` calls of `method` (`'*'`: any method) reject. Pass an error, or
   * options; faults queue up in order.
   * @example provider.failNext('launch', new ThrottledError('Rate exceeded', { retryAfterMs: 1_000 }))
   * @example provider.failNext('terminate', { times: 2 })
   * @example provider.failNext('launch', { afterEffect: true }) // launched, but the answer is lost
   */
  failNext(method: FakeProviderMethod | '*', errorOrOptions?: Error | FailNextOptions): void {
    const options: FailNextOptions =
      errorOrOptions instanceof Error ? { error: errorOrOptions } : (errorOrOptions ?? {});
    const times = options.times ?? 1;
    if (!Number.isInteger(times) || times < 1) {
      throw new InvalidArgumentError(
        `Expected \`times\` to be a positive integer, got ${describeValue(times)}`,
        { argument: 'times', value: times },
      );
    }
    this.#pendingFaults.push({
      method,
      error: options.error,
      remaining: times,
      afterEffect: options.afterEffect ?? false,
    });
  }

  // ---------------------------------------------------------------- assertions

  /** Every call so far, oldest first (not persisted). */
  get calls(): readonly FakeProviderCall[] {
    return this.#calls;
  }

  /** Forgets the recorded calls. */
  clearCalls(): void {
    this.#calls.length = 0;
  }

  /**
   * Every instance the cloud ever had, oldest first, including preempted, terminated and
   * foreign ones. Not recorded as a call and never faulted.
   */
  instances(): readonly FakeInstance[] {
    this.#settle();
    const now = this.#clock.now();
    return this.#state.instances.map((record) => ({
      ...this.#view(record, now),
      idempotencyKey: record.idempotencyKey,
      startupScript: record.startupScript,
      foreign: record.foreign ?? false,
      endedAt: record.end?.at,
    }));
  }

  /** One instance by id (see {@link FakeProvider.instances}), or `undefined`. */
  instance(instanceId: string): FakeInstance | undefined {
    return this.instances().find((instance) => instance.id === instanceId);
  }

  /**
   * Instance-hours × hourly price of every instance so far (live ones up to now), in USD.
   * Prices are read at the time of the call.
   */
  cost(): number {
    this.#settle();
    const now = this.#clock.now();
    let total = 0;
    for (const record of this.#state.instances) {
      if (record.foreign) continue;
      const end = record.end?.at ?? now;
      total +=
        (Math.max(0, end - record.launchedAt) / 3_600_000) *
        this.price(record.location, record.capacityType);
    }
    return total;
  }

  // ---------------------------------------------------------------- internals

  async #call<T>(
    method: FakeProviderMethod,
    request: unknown,
    context: CallContext | undefined,
    body: (failAfterEffect: () => void) => T | Promise<T>,
  ): Promise<T> {
    const call = {
      method,
      request,
      at: this.#clock.now(),
      outcome: { status: 'pending' },
    } as FakeProviderCall;
    this.#calls.push(call);
    try {
      throwIfAborted(context?.abortSignal);
      const before = this.#takeFault(call, false) ?? this.#faultHook?.(call);
      if (before !== undefined) throw before;
      this.#settle();
      let effectDone = false;
      const failAfterEffect = () => {
        if (effectDone) return;
        effectDone = true;
        const after = this.#takeFault(call, true);
        if (after !== undefined) throw after;
      };
      const value = await body(failAfterEffect);
      // Methods without an effect of their own (reads, no-op terminates) fail here.
      failAfterEffect();
      call.outcome = { status: 'resolved', value };
      return value;
    } catch (error) {
      call.outcome = { status: 'rejected', error };
      throw error;
    }
  }

  #takeFault(call: FakeProviderCall, afterEffect: boolean): Error | undefined {
    const index = this.#pendingFaults.findIndex(
      (fault) =>
        (fault.method === '*' || fault.method === call.method) && fault.afterEffect === afterEffect,
    );
    if (index < 0) return undefined;
    const fault = this.#pendingFaults[index]!;
    if (--fault.remaining === 0) this.#pendingFaults.splice(index, 1);
    if (typeof fault.error === 'function') return fault.error(call);
    return (
      fault.error ??
      new ProviderError(`Injected fault in \`${call.method}\` of fake provider \`${this.name}\``, {
        providerCode: 'InjectedFault',
        retryable: true,
      })
    );
  }

  #launch(request: LaunchRequest): StoredInstance {
    this.#checkLocationArgument(request.location);
    if (request.capacityType !== 'spot' && request.capacityType !== 'on-demand') {
      throw new InvalidArgumentError(
        `Expected \`capacityType\` to be 'spot' or 'on-demand', got ${describeValue(request.capacityType)}`,
        { argument: 'capacityType', value: request.capacityType },
      );
    }
    if (!this.#instanceTypes.includes(request.instanceType)) {
      throw new InvalidConfigError(
        `Instance type ${describeValue(request.instanceType)} is not offered by \`${this.name}\` (offered: ${this.#instanceTypes.join(', ')})`,
        { setting: 'instanceType', value: request.instanceType },
      );
    }
    if (
      typeof request.idempotencyKey !== 'string' ||
      !IDEMPOTENCY_KEY.test(request.idempotencyKey)
    ) {
      throw new InvalidArgumentError(
        `Expected \`idempotencyKey\` to be 1-64 characters of [a-z0-9-], got ${describeValue(request.idempotencyKey)}`,
        { argument: 'idempotencyKey', value: request.idempotencyKey },
      );
    }
    const existingId = this.#state.idempotencyKeys[request.idempotencyKey];
    const existing = existingId === undefined ? undefined : this.#find(existingId);
    if (existing !== undefined) {
      if (
        existing.location !== request.location ||
        existing.capacityType !== request.capacityType ||
        existing.instanceType !== request.instanceType
      ) {
        throw new InvalidArgumentError(
          `Idempotency key \`${request.idempotencyKey}\` was used for a launch with other parameters (instance \`${existing.id}\`)`,
          { argument: 'idempotencyKey', value: request.idempotencyKey },
        );
      }
      return existing;
    }
    const now = this.#clock.now();
    const capacity = this.#capacityAt(request.location, request.capacityType, now);
    const used = this.#liveCount(request.location, request.capacityType);
    if (used >= capacity) {
      throw new CapacityUnavailableError(
        `No ${request.capacityType} capacity for \`${request.instanceType}\` in \`${request.location}\` (${used} of ${capacity} in use)`,
        { location: request.location, capacityType: request.capacityType },
      );
    }
    const record = this.#create({
      location: request.location,
      capacityType: request.capacityType,
      instanceType: request.instanceType,
      tags: { ...request.tags },
      startupScript: request.startupScript,
      idempotencyKey: request.idempotencyKey,
    });
    this.#state.idempotencyKeys[request.idempotencyKey] = record.id;
    this.#save();
    return record;
  }

  #create(fields: Omit<StoredInstance, 'id' | 'seq' | 'launchedAt'>): StoredInstance {
    const seq = this.#state.nextSeq++;
    const record: StoredInstance = {
      id: `${this.name}-${String(seq).padStart(6, '0')}`,
      seq,
      launchedAt: this.#clock.now(),
      ...fields,
    };
    this.#state.instances.push(record);
    this.#byId.set(record.id, record);
    return record;
  }

  #interruptions(request: ListRequest): InterruptionNotice[] {
    return this.#state.notices
      .filter((notice) => {
        const record = this.#find(notice.instanceId);
        return record !== undefined && isAlive(record) && hasTags(record.tags, request.tags);
      })
      .map((notice) => ({ ...notice }));
  }

  /**
   * Applies everything that happened since the last call: preemptions at notice deadlines
   * and capacity drops (every schedule step passed, then the capacity now). Persists when
   * something changed (or when `forceSave`).
   */
  #settle(forceSave = false): void {
    const now = this.#clock.now();
    const since = this.#state.settledAt ?? Number.NEGATIVE_INFINITY;
    let changed = forceSave;
    const liveSpot = new Map<string, StoredInstance[]>();
    for (const record of this.#state.instances) {
      if (record.end !== undefined) continue;
      if (record.preemptAt !== undefined && record.preemptAt <= now) {
        record.end = { state: 'preempted', at: record.preemptAt, reason: 'interruption' };
        changed = true;
        continue;
      }
      if (record.capacityType !== 'spot') continue;
      const list = liveSpot.get(record.location);
      if (list === undefined) liveSpot.set(record.location, [record]);
      else list.push(record);
    }
    for (const [location, live] of liveSpot) {
      let sorted = false;
      for (const { capacity, at } of this.#capacitiesSince(location, since, now)) {
        if (live.length <= capacity) continue;
        if (!sorted) {
          // Oldest first, so the newest excess is at the end.
          live.sort((a, b) => a.launchedAt - b.launchedAt || a.seq - b.seq);
          sorted = true;
        }
        for (const record of live.splice(capacity)) {
          record.end = { state: 'preempted', at, reason: 'capacity-drop' };
          changed = true;
        }
      }
    }
    if (now > since || this.#state.settledAt === null) this.#state.settledAt = now;
    if (changed) this.#save();
  }

  #liveCount(location: string, capacityType: CapacityType): number {
    return this.#state.instances.filter(
      (record) =>
        isAlive(record) && record.location === location && record.capacityType === capacityType,
    ).length;
  }

  #scriptFor(location: string, capacityType: CapacityType): CapacityScript | undefined {
    const option = capacityType === 'spot' ? this.#spotCapacity : this.#onDemandCapacity;
    if (
      option === undefined ||
      typeof option === 'number' ||
      typeof option === 'function' ||
      Array.isArray(option)
    ) {
      return option as CapacityScript | undefined;
    }
    return (option as Readonly<Record<string, CapacityScript>>)[location];
  }

  /** Capacity now (whole instances; `Infinity` when unlimited). */
  #capacityAt(location: string, capacityType: CapacityType, time: number): number {
    const override = this.#state.capacityOverrides[location]?.[capacityType];
    if (override !== undefined)
      return override === null ? Number.POSITIVE_INFINITY : Math.floor(override);
    const script = this.#scriptFor(location, capacityType);
    if (script === undefined) return Number.POSITIVE_INFINITY;
    if (typeof script === 'number') return Math.floor(script);
    if (typeof script === 'function') {
      const value = script(location, time);
      if (!isNonNegativeNumber(value)) {
        throw new InvalidConfigError(
          `Expected the ${capacityType} capacity function to return a number >= 0 for \`${location}\`, got ${describeValue(value)}`,
          { setting: capacityType === 'spot' ? 'spotCapacity' : 'onDemandCapacity', value },
        );
      }
      return Math.floor(value);
    }
    let capacity = Number.POSITIVE_INFINITY;
    for (const step of script as readonly CapacityStep[]) {
      if (step.at > time) break;
      capacity = step.capacity;
    }
    return Math.floor(capacity);
  }

  /** Spot capacities to apply, in order, for the time span (since, now], with their times. */
  #capacitiesSince(
    location: string,
    since: number,
    now: number,
  ): { capacity: number; at: number }[] {
    const override = this.#state.capacityOverrides[location]?.spot;
    const script = this.#scriptFor(location, 'spot');
    const capacities: { capacity: number; at: number }[] = [];
    if (override === undefined && Array.isArray(script)) {
      for (const step of script as readonly CapacityStep[]) {
        if (step.at > since && step.at <= now) {
          capacities.push({ capacity: Math.floor(step.capacity), at: step.at });
        }
      }
    }
    capacities.push({ capacity: this.#capacityAt(location, 'spot', now), at: now });
    return capacities;
  }

  #view(record: StoredInstance, now: number): Instance {
    let state: InstanceState;
    if (record.end !== undefined) state = record.end.state;
    else state = now - record.launchedAt >= this.#bootMs ? 'running' : 'pending';
    const instance: Mutable<Instance> = {
      id: record.id,
      location: record.location,
      instanceType: record.instanceType,
      capacityType: record.capacityType,
      state,
      tags: { ...record.tags },
      launchedAt: record.launchedAt,
    };
    if (record.end !== undefined) instance.stateReason = record.end.reason;
    if (state === 'running') {
      instance.endpoint =
        this.#endpointFor?.({ ...instance }) ?? `http://fake.invalid/${record.id}`;
    }
    return instance;
  }

  #find(instanceId: string): StoredInstance | undefined {
    return this.#byId.get(instanceId);
  }

  #require(instanceId: string): StoredInstance {
    const record = this.#find(instanceId);
    if (record === undefined) {
      throw new InstanceNotFoundError(
        `No instance \`${instanceId}\` in fake provider \`${this.name}\``,
        {
          instanceId,
        },
      );
    }
    return record;
  }

  #checkLocationArgument(location: string): void {
    if (!this.#locationIds.has(location)) {
      throw new InvalidArgumentError(
        `Unknown location ${describeValue(location)} (known: ${[...this.#locationIds].join(', ')})`,
        { argument: 'location', value: location },
      );
    }
  }

  #checkLocationSetting(setting: string, location: string): void {
    if (!this.#locationIds.has(location)) {
      throw new InvalidConfigError(
        `Unknown location ${describeValue(location)} in \`${setting}\` (known: ${[...this.#locationIds].join(', ')})`,
        { setting, value: location },
      );
    }
  }

  #checkNumber(setting: string, value: unknown, options: { positive?: boolean } = {}): number {
    const ok =
      isNonNegativeNumber(value) && Number.isFinite(value) && (!options.positive || value > 0);
    if (!ok) {
      throw new InvalidConfigError(
        `Expected \`${setting}\` to be a finite number ${options.positive ? '> 0' : '>= 0'}, got ${describeValue(value)}`,
        { setting, value },
      );
    }
    return value as number;
  }

  #checkCapacityOption(
    setting: string,
    option: CapacityOption | undefined,
  ): CapacityOption | undefined {
    const checkScript = (script: unknown, path: string): void => {
      if (typeof script === 'function' || isNonNegativeNumber(script)) return;
      if (
        Array.isArray(script) &&
        script.every((step: unknown) => {
          const candidate = step as Partial<CapacityStep> | null;
          return (
            typeof candidate === 'object' &&
            candidate !== null &&
            typeof candidate.at === 'number' &&
            Number.isFinite(candidate.at) &&
            isNonNegativeNumber(candidate.capacity)
          );
        })
      ) {
        return;
      }
      throw new InvalidConfigError(
        `Expected \`${path}\` to be a number >= 0, a function or a list of { at, capacity }, got ${describeValue(script)}`,
        { setting: path, value: script },
      );
    };
    if (option === undefined) return undefined;
    const sortSteps = (script: CapacityScript): CapacityScript =>
      Array.isArray(script)
        ? [...(script as readonly CapacityStep[])].sort((a, b) => a.at - b.at)
        : script;
    if (typeof option === 'object' && !Array.isArray(option)) {
      const perLocation: Record<string, CapacityScript> = {};
      for (const [location, script] of Object.entries(
        option as Readonly<Record<string, CapacityScript>>,
      )) {
        this.#checkLocationSetting(setting, location);
        checkScript(script, `${setting}["${location}"]`);
        perLocation[location] = sortSteps(script);
      }
      return perLocation;
    }
    checkScript(option, setting);
    return sortSteps(option as CapacityScript);
  }

  #load(): FakeCloudState {
    const path = this.#storagePath;
    if (path === undefined || !existsSync(path)) return emptyState();
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new InvalidConfigError(
        `Cannot read the fake cloud in \`storagePath\` ${describeValue(path)}`,
        {
          setting: 'storagePath',
          value: path,
          cause: error,
        },
      );
    }
    const state = parsed as Partial<FakeCloudState> | null;
    if (
      typeof state !== 'object' ||
      state === null ||
      state.version !== 1 ||
      !Array.isArray(state.instances)
    ) {
      throw new InvalidConfigError(
        `The file in \`storagePath\` ${describeValue(path)} does not hold a fake cloud (version 1)`,
        { setting: 'storagePath', value: path },
      );
    }
    return { ...emptyState(), ...state } as FakeCloudState;
  }

  #save(): void {
    const path = this.#storagePath;
    if (path === undefined) return;
    // Write-then-rename is atomic on POSIX: a process killed mid-write leaves the old file.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.#state));
    renameSync(temporary, path);
  }
}
