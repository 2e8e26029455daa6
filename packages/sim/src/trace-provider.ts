/**
 * A cloud whose spot capacity follows a trace: a `ProviderV1` for the simulator, tests and
 * demos. At virtual time `now` the trace tick is `floor((now − startTime) / tick)`; each
 * location holds at most that tick's capacity of spot instances:
 * - a spot launch beyond capacity rejects with `CapacityUnavailableError` (nothing is kept);
 * - when capacity drops below the running count, the excess is preempted, newest first
 *   (those not yet ready go first, as in the paper's simulator);
 * - on-demand launches always succeed (unlimited capacity unless `onDemandCapacity` says).
 * Instances are `running` at once; readiness after the cold start is for the prober to
 * decide ({@link TraceProvider.isWarm}).
 */
import {
  CapacityUnavailableError,
  InvalidArgumentError,
  NotOwnedError,
  describeValue,
  hasTags,
  isOwnedBy,
  parseLocationId,
  throwIfAborted,
} from '@spothedge/core';
import type {
  CallContext,
  CapacityType,
  Clock,
  Instance,
  InstanceState,
  LaunchRequest,
  ListRequest,
  Location,
  Offering,
  ProviderV1,
  TerminateRequest,
} from '@spothedge/core';
import type { SpotTrace } from './trace.js';

export interface TraceProviderOptions {
  readonly trace: SpotTrace;
  /** Virtual (or wall) clock; the trace starts at `startTime`. */
  readonly clock: Clock;
  /** Epoch ms of trace tick 0. @default clock.now() at construction */
  readonly startTime?: number | undefined;
  /** Tick of the trace that `startTime` maps to (a window offset). @default 0 */
  readonly startTick?: number | undefined;
  /** Provider name (the cloud part of location ids is the trace's own). @default 'trace' */
  readonly name?: string | undefined;
  /** Instance type reported in offerings. @default 'gpu' */
  readonly instanceType?: string | undefined;
  /** Spot price per hour. @default 1 */
  readonly spotPrice?: number | undefined;
  /** On-demand price per hour. @default 3 */
  readonly onDemandPrice?: number | undefined;
  /** How long a replica takes from launch to serving, for {@link TraceProvider.isWarm}. @default 120_000 */
  readonly coldStartMs?: number | undefined;
  /** How long preempted/terminated instances stay listed. @default 600_000 */
  readonly retainFinalMs?: number | undefined;
}

interface TraceInstance {
  id: string;
  location: string;
  capacityType: CapacityType;
  state: InstanceState;
  stateReason: string | undefined;
  tags: Readonly<Record<string, string>>;
  launchedAt: number;
  endedAt: number | undefined;
  /** Launch order, to preempt the newest first. */
  sequence: number;
}

/** What happened to an instance, for the simulator's timeline. */
export interface TraceInstanceEvent {
  readonly type: 'launch' | 'preempt' | 'terminate';
  readonly at: number;
  readonly instanceId: string;
  readonly location: string;
  readonly capacityType: CapacityType;
}

/**
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const provider = new TraceProvider({ trace: generateSyntheticTrace({ seed: 1 }), clock });
 * await provider.launch({ location, capacityType: 'spot', instanceType: 'gpu', tags, idempotencyKey: 'r-1' });
 * ```
 */
export class TraceProvider implements ProviderV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly trace: SpotTrace;
  readonly #clock: Clock;
  readonly #startTime: number;
  readonly #startTick: number;
  readonly #tickMs: number;
  readonly #instanceType: string;
  readonly #spotPrice: number;
  readonly #onDemandPrice: number;
  readonly #coldStartMs: number;
  readonly #retainFinalMs: number;
  readonly #locations: readonly Location[];
  readonly #zoneIndex = new Map<string, number>();
  readonly #instances = new Map<string, TraceInstance>();
  readonly #byKey = new Map<string, string>();
  /** Alive spot instances per zone, in launch order. */
  readonly #aliveSpot: TraceInstance[][];
  readonly #overrides = new Map<number, number>();
  readonly #listeners: Array<(event: TraceInstanceEvent) => void> = [];
  #appliedTick = -1;
  #sequence = 0;
  #nextId = 1;

  constructor(options: TraceProviderOptions) {
    this.trace = options.trace;
    this.#clock = options.clock;
    this.#startTime = options.startTime ?? options.clock.now();
    this.#startTick = options.startTick ?? 0;
    if (
      !Number.isInteger(this.#startTick) ||
      this.#startTick < 0 ||
      this.#startTick >= options.trace.ticks
    ) {
      throw new InvalidArgumentError(
        `Expected \`startTick\` to be an integer in [0, ${options.trace.ticks}), got ${describeValue(options.startTick)}`,
        { argument: 'startTick', value: options.startTick },
      );
    }
    this.#tickMs = options.trace.tickSeconds * 1000;
    this.name = options.name ?? 'trace';
    this.#instanceType = options.instanceType ?? 'gpu';
    this.#spotPrice = options.spotPrice ?? 1;
    this.#onDemandPrice = options.onDemandPrice ?? 3;
    this.#coldStartMs = options.coldStartMs ?? 120_000;
    this.#retainFinalMs = options.retainFinalMs ?? 600_000;
    this.#locations = options.trace.zones.map((zone) => parseLocationId(zone.location));
    options.trace.zones.forEach((zone, index) => this.#zoneIndex.set(zone.location, index));
    this.#aliveSpot = options.trace.zones.map(() => []);
  }

  locations(): readonly Location[] {
    return this.#locations;
  }

  offerings(context?: CallContext): Promise<readonly Offering[]> {
    throwIfAborted(context?.abortSignal);
    const offerings: Offering[] = [];
    for (const location of this.#locations) {
      offerings.push(
        {
          location: location.id,
          instanceType: this.#instanceType,
          capacityType: 'spot',
          hourlyPrice: this.#spotPrice,
        },
        {
          location: location.id,
          instanceType: this.#instanceType,
          capacityType: 'on-demand',
          hourlyPrice: this.#onDemandPrice,
        },
      );
    }
    return Promise.resolve(offerings);
  }

  launch(request: LaunchRequest, context?: CallContext): Promise<Instance> {
    try {
      const outcome = this.#launch(request, context);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Synchronous {@link launch}: returns the instance or throws what `launch` rejects with. */
  launchNow(request: LaunchRequest, context?: CallContext): Instance {
    const outcome = this.#launch(request, context);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  // A capacity failure is returned, not thrown: the simulator sees thousands per simulated
  // day, and a throw (with its message location) costs more than the rest of the launch.
  #launch(request: LaunchRequest, context: CallContext | undefined): Instance | Error {
    throwIfAborted(context?.abortSignal);
    this.sync();
    const existing = this.#byKey.get(request.idempotencyKey);
    if (existing !== undefined) return this.#view(this.#instances.get(existing)!);
    const zone = this.#zoneIndex.get(request.location);
    if (zone === undefined) {
      throw new InvalidArgumentError(
        `Expected \`location\` to be one of this trace's locations, got ${describeValue(request.location)}`,
        { argument: 'location', value: request.location },
      );
    }
    if (request.capacityType === 'spot') {
      const capacity = this.capacityAt(zone, this.#appliedTick);
      if (this.#aliveSpot[zone]!.length >= capacity) {
        // Nor is a stack trace worth its cost here.
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        const error = new CapacityUnavailableError(
          `No spot capacity in ${request.location} at trace tick ${this.#startTick + this.#appliedTick} (${capacity} held)`,
          { location: request.location, capacityType: 'spot' },
        );
        Error.stackTraceLimit = limit;
        return error;
      }
    }
    const now = this.#clock.now();
    const instance: TraceInstance = {
      id: `i-${(this.#nextId++).toString(16).padStart(8, '0')}`,
      location: request.location,
      capacityType: request.capacityType,
      state: 'running',
      stateReason: undefined,
      tags: { ...request.tags },
      launchedAt: now,
      endedAt: undefined,
      sequence: this.#sequence++,
    };
    this.#instances.set(instance.id, instance);
    this.#byKey.set(request.idempotencyKey, instance.id);
    if (instance.capacityType === 'spot') this.#aliveSpot[zone]!.push(instance);
    this.#emit('launch', instance, now);
    return this.#view(instance);
  }

  list(request: ListRequest, context?: CallContext): Promise<readonly Instance[]> {
    try {
      return Promise.resolve(this.listNow(request, context));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Synchronous {@link list}. */
  listNow(request: ListRequest, context?: CallContext): readonly Instance[] {
    throwIfAborted(context?.abortSignal);
    this.sync();
    const now = this.#clock.now();
    const out: Instance[] = [];
    for (const instance of this.#instances.values()) {
      if (instance.endedAt !== undefined && now - instance.endedAt > this.#retainFinalMs) {
        this.#instances.delete(instance.id);
        continue;
      }
      if (hasTags(instance.tags, request.tags)) out.push(this.#view(instance));
    }
    return out;
  }

  terminate(request: TerminateRequest, context?: CallContext): Promise<void> {
    try {
      this.terminateNow(request, context);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Synchronous {@link terminate}. */
  terminateNow(request: TerminateRequest, context?: CallContext): void {
    throwIfAborted(context?.abortSignal);
    this.sync();
    const instance = this.#instances.get(request.instanceId);
    if (instance === undefined) return;
    if (!isOwnedBy(instance.tags, request.tags)) {
      throw new NotOwnedError(
        `Instance ${request.instanceId} does not carry the ownership tags ${JSON.stringify(request.tags)}`,
        { instanceId: request.instanceId },
      );
    }
    if (instance.endedAt !== undefined) return;
    this.#end(instance, 'terminated', 'terminated by request', this.#clock.now());
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Whether the instance has been running for the cold start (the simulator's prober uses it). */
  isWarm(instanceId: string): boolean {
    const instance = this.#instances.get(instanceId);
    return (
      instance !== undefined &&
      instance.state === 'running' &&
      this.#clock.now() - instance.launchedAt >= this.#coldStartMs
    );
  }

  /** The trace tick (relative to `startTick`) at the clock's current time. */
  currentTick(): number {
    const tick = Math.floor((this.#clock.now() - this.#startTime) / this.#tickMs);
    return Math.max(0, Math.min(tick, this.trace.ticks - 1 - this.#startTick));
  }

  /** Spot capacity of zone `zone` (trace order) at relative tick `tick`. */
  capacityAt(zone: number, tick: number): number {
    const override = this.#overrides.get(zone);
    if (override !== undefined) return override;
    return this.trace.zones[zone]!.capacity[this.#startTick + Math.max(0, tick)]!;
  }

  /**
   * Applies the trace up to the clock's current tick: preempts spot instances above each
   * zone's capacity, newest first. Every provider call does this first.
   */
  sync(): void {
    const tick = this.currentTick();
    if (tick === this.#appliedTick) return;
    this.#appliedTick = tick;
    const now = this.#clock.now();
    for (let zone = 0; zone < this.#aliveSpot.length; zone++) {
      const alive = this.#aliveSpot[zone]!;
      const capacity = this.capacityAt(zone, tick);
      while (alive.length > capacity) {
        this.#end(alive[alive.length - 1]!, 'preempted', 'capacity reclaimed (trace)', now);
      }
    }
  }

  /**
   * Testing hooks (the conformance harness): pins a zone's capacity (`undefined` restores
   * the trace) and applies it at once.
   */
  overrideCapacity(location: string, capacity: number | undefined): void {
    const zone = this.#zoneIndex.get(location);
    if (zone === undefined) {
      throw new InvalidArgumentError(`Unknown location ${describeValue(location)}`, {
        argument: 'location',
        value: location,
      });
    }
    if (capacity === undefined) this.#overrides.delete(zone);
    else this.#overrides.set(zone, capacity);
    this.#appliedTick = -1;
    this.sync();
  }

  /** Testing hook: the cloud reclaims this spot instance now. */
  preempt(instanceId: string): void {
    const instance = this.#instances.get(instanceId);
    if (instance === undefined || instance.endedAt !== undefined) return;
    this.#end(instance, 'preempted', 'reclaimed', this.#clock.now());
  }

  /** Subscribes to launches, preemptions and terminations; returns an unsubscribe function. */
  onInstanceEvent(listener: (event: TraceInstanceEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners.splice(index, 1);
    };
  }

  #end(
    instance: TraceInstance,
    state: 'preempted' | 'terminated',
    reason: string,
    now: number,
  ): void {
    instance.state = state;
    instance.stateReason = reason;
    instance.endedAt = now;
    if (instance.capacityType === 'spot') {
      const zone = this.#zoneIndex.get(instance.location)!;
      const alive = this.#aliveSpot[zone]!;
      const index = alive.indexOf(instance);
      if (index >= 0) alive.splice(index, 1);
    }
    this.#emit(state === 'preempted' ? 'preempt' : 'terminate', instance, now);
  }

  #emit(type: TraceInstanceEvent['type'], instance: TraceInstance, at: number): void {
    if (this.#listeners.length === 0) return;
    const event: TraceInstanceEvent = {
      type,
      at,
      instanceId: instance.id,
      location: instance.location,
      capacityType: instance.capacityType,
    };
    for (const listener of this.#listeners) listener(event);
  }

  #view(instance: TraceInstance): Instance {
    return {
      id: instance.id,
      location: instance.location,
      instanceType: this.#instanceType,
      capacityType: instance.capacityType,
      state: instance.state,
      stateReason: instance.stateReason,
      tags: instance.tags,
      launchedAt: instance.launchedAt,
      endpoint: instance.state === 'running' ? `sim://${instance.id}` : undefined,
    };
  }
}
