/**
 * LocalProvider: a `ProviderV1` whose replicas are real child processes on this machine,
 * grouped into named virtual locations with scripted spot capacity. A capacity drop
 * preempts by SIGKILL (optionally after an interruption notice); a launch beyond capacity
 * fails with `CapacityUnavailableError`. Replicas never outlive the host: they exit when
 * their IPC channel to the host closes, and pid files let the next host end any that
 * survived anyway.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AbortedError,
  CapacityUnavailableError,
  InvalidConfigError,
  NotOwnedError,
  ProviderError,
  SystemClock,
  describeValue,
  hasTags,
  isOwnedBy,
  parseLocationId,
  throwIfAborted,
  type CallContext,
  type CapacityType,
  type Clock,
  type Instance,
  type InstanceState,
  type InterruptionNotice,
  type LaunchRequest,
  type ListRequest,
  type Location,
  type Offering,
  type ProviderV1,
  type TerminateRequest,
  type TimerHandle,
} from '@spothedge/core';

/** Spot capacity of a location: a fixed count, or a function of the location and time. */
export type LocalCapacity = number | ((location: string, now: number) => number);

export interface LocalReplicaOptions {
  /** Model server generation speed. @default 50 */
  readonly tokensPerSecond?: number;
  /** Model server concurrency limit. @default 4 */
  readonly concurrency?: number;
  /**
   * Script run as the replica instead of the built-in model server. It receives
   * `--port 0 --startup-delay-ms N` and must send `{ type: 'listening', url }` over IPC.
   */
  readonly entry?: string;
}

export interface LocalProviderOptions {
  /** Provider name and the cloud part of location ids. @default 'local' */
  readonly name?: string;
  /**
   * Location ids (`local/<region>/<zone>`), or how many to create.
   * @default 6 (`local/us-east-1/us-east-1a` … `local/us-west-2/us-west-2c`)
   */
  readonly locations?: readonly string[] | number;
  /** Spot capacity per location over time; on-demand is unlimited. @default Infinity */
  readonly spotCapacity?: LocalCapacity;
  /** Instance type reported for replicas. @default 'local-process' */
  readonly instanceType?: string;
  /** Hourly prices; per-location overrides by id. @default spot 1, on-demand 3 */
  readonly prices?: {
    readonly spot?: number;
    readonly onDemand?: number;
    readonly byLocation?: Readonly<Record<string, { spot?: number; onDemand?: number }>>;
  };
  /** Replica cold start: time before `/health` answers 200. @default 0 */
  readonly coldStartMs?: number;
  /**
   * Send an interruption notice this long before a capacity drop preempts a replica.
   * `0` preempts without notice. @default 0
   */
  readonly interruptionNoticeMs?: number;
  /** How often capacity is checked against running replicas. @default 250 */
  readonly checkIntervalMs?: number;
  /** Where pid files live, to clean up after a killed host. @default `<tmpdir>/spothedge-local-<name>` */
  readonly stateDirectory?: string;
  readonly replica?: LocalReplicaOptions;
  /** @default SystemClock */
  readonly clock?: Clock;
  /** How long a replica process may take to start listening. @default 15_000 */
  readonly spawnTimeoutMs?: number;
}

interface LocalInstance {
  readonly id: string;
  readonly location: string;
  readonly capacityType: CapacityType;
  readonly tags: Readonly<Record<string, string>>;
  readonly launchedAt: number;
  readonly instanceType: string;
  state: InstanceState;
  stateReason?: string;
  endpoint?: string;
  child?: ChildProcess;
  notice?: InterruptionNotice;
}

const DEFAULT_ZONES = [
  'us-east-1/us-east-1a',
  'us-east-1/us-east-1b',
  'us-east-2/us-east-2a',
  'us-west-2/us-west-2a',
  'us-west-2/us-west-2b',
  'us-west-2/us-west-2c',
];

/** Keeps terminated/preempted instances listed for a while, like clouds do. */
const HISTORY_LIMIT = 1000;

/**
 * The replica script: the built model server. Running from source (tests, tsx), the built
 * file is still preferred when present — a replica then starts in ~100 ms instead of
 * paying for a TypeScript transform in every child — else the source runs through tsx.
 */
function defaultEntry(): string {
  if (!import.meta.url.endsWith('.ts')) {
    return fileURLToPath(new URL('./bin/model-server.js', import.meta.url));
  }
  const built = fileURLToPath(new URL('../dist/bin/model-server.js', import.meta.url));
  return existsSync(built)
    ? built
    : fileURLToPath(new URL('./bin/model-server.ts', import.meta.url));
}

/** TypeScript entries (tests, tsx users) start through tsx. */
function execArgvFor(entry: string): string[] {
  return entry.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Creates a LocalProvider.
 *
 * @example
 * ```ts
 * const provider = createLocalProvider({
 *   locations: 3,
 *   spotCapacity: (location, now) => (location.endsWith('a') && now % 60_000 < 20_000 ? 0 : 2),
 *   coldStartMs: 2_000,
 * });
 * ```
 */
export function createLocalProvider(options: LocalProviderOptions = {}): LocalProvider {
  return new LocalProvider(options);
}

export class LocalProvider implements ProviderV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly #locations: readonly Location[];
  readonly #options: LocalProviderOptions;
  readonly #clock: Clock;
  readonly #instances = new Map<string, LocalInstance>();
  readonly #byKey = new Map<string, string>();
  readonly #stateDirectory: string;
  readonly #checkIntervalMs: number;
  #nextId = 1;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(options: LocalProviderOptions = {}) {
    this.#options = options;
    this.name = options.name ?? 'local';
    this.#clock = options.clock ?? new SystemClock();
    this.#locations = resolveLocations(this.name, options.locations ?? 6);
    this.#checkIntervalMs = options.checkIntervalMs ?? 250;
    for (const [setting, value] of [
      ['coldStartMs', options.coldStartMs],
      ['interruptionNoticeMs', options.interruptionNoticeMs],
      ['checkIntervalMs', options.checkIntervalMs],
      ['spawnTimeoutMs', options.spawnTimeoutMs],
    ] as const) {
      if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
        throw new InvalidConfigError(
          `Expected \`${setting}\` to be a non-negative number, got ${describeValue(value)}`,
          { setting, value },
        );
      }
    }
    if (typeof options.spotCapacity === 'number' && !(options.spotCapacity >= 0)) {
      throw new InvalidConfigError(
        `Expected \`spotCapacity\` to be a non-negative number or a function, got ${describeValue(options.spotCapacity)}`,
        { setting: 'spotCapacity', value: options.spotCapacity },
      );
    }
    this.#stateDirectory = options.stateDirectory ?? join(tmpdir(), `spothedge-local-${this.name}`);
    mkdirSync(this.#stateDirectory, { recursive: true });
    this.#reapOrphans();
  }

  locations(): readonly Location[] {
    return this.#locations;
  }

  offerings(): Promise<readonly Offering[]> {
    const prices = this.#options.prices ?? {};
    const instanceType = this.#options.instanceType ?? 'local-process';
    return Promise.resolve(
      this.#locations.flatMap((location) => {
        const override = prices.byLocation?.[location.id] ?? {};
        return [
          {
            location: location.id,
            instanceType,
            capacityType: 'spot' as const,
            hourlyPrice: override.spot ?? prices.spot ?? 1,
          },
          {
            location: location.id,
            instanceType,
            capacityType: 'on-demand' as const,
            hourlyPrice: override.onDemand ?? prices.onDemand ?? 3,
          },
        ];
      }),
    );
  }

  async launch(request: LaunchRequest, context: CallContext = {}): Promise<Instance> {
    throwIfAborted(context.abortSignal);
    this.#assertOpen();
    if (!this.#locations.some((location) => location.id === request.location)) {
      throw new InvalidConfigError(
        `Unknown location ${describeValue(request.location)} for provider ${this.name}`,
        { setting: 'location', value: request.location },
      );
    }
    const existing = this.#byKey.get(request.idempotencyKey);
    if (existing !== undefined) return this.#view(this.#instances.get(existing)!);

    if (request.capacityType === 'spot') {
      const capacity = this.#capacity(request.location, this.#clock.now());
      if (this.#liveSpot(request.location).length >= capacity) {
        throw new CapacityUnavailableError(
          `No spot capacity in ${request.location} (capacity ${capacity})`,
          { location: request.location, capacityType: 'spot' },
        );
      }
    }
    const instance: LocalInstance = {
      id: `${this.name}-${process.pid}-${this.#nextId++}`,
      location: request.location,
      capacityType: request.capacityType,
      tags: { ...request.tags },
      launchedAt: this.#clock.now(),
      instanceType: this.#options.instanceType ?? 'local-process',
      state: 'pending',
    };
    this.#instances.set(instance.id, instance);
    this.#byKey.set(request.idempotencyKey, instance.id);
    try {
      await this.#spawn(instance, context.abortSignal);
    } catch (error) {
      // Nothing billable may remain after a rejected launch.
      this.#kill(instance, 'terminated', 'launch-failed');
      this.#byKey.delete(request.idempotencyKey);
      this.#instances.delete(instance.id);
      throw error;
    }
    this.#schedule();
    return this.#view(instance);
  }

  list(request: ListRequest, context: CallContext = {}): Promise<readonly Instance[]> {
    throwIfAborted(context.abortSignal);
    this.#checkCapacity();
    const result: Instance[] = [];
    for (const instance of this.#instances.values()) {
      if (hasTags(instance.tags, request.tags)) result.push(this.#view(instance));
    }
    return Promise.resolve(result);
  }

  terminate(request: TerminateRequest, context: CallContext = {}): Promise<void> {
    throwIfAborted(context.abortSignal);
    const instance = this.#instances.get(request.instanceId);
    if (instance === undefined) return Promise.resolve();
    if (!isOwnedBy(instance.tags, request.tags)) {
      return Promise.reject(
        new NotOwnedError(`Instance ${instance.id} does not carry the ownership tags`, {
          instanceId: instance.id,
        }),
      );
    }
    if (instance.state !== 'terminated' && instance.state !== 'preempted') {
      this.#kill(instance, 'terminated', 'terminated-by-request');
    }
    return Promise.resolve();
  }

  interruptions(request: ListRequest): Promise<readonly InterruptionNotice[]> {
    this.#checkCapacity();
    const notices: InterruptionNotice[] = [];
    for (const instance of this.#instances.values()) {
      if (instance.notice && isLive(instance) && hasTags(instance.tags, request.tags)) {
        notices.push(instance.notice);
      }
    }
    return Promise.resolve(notices);
  }

  /** Preempts a spot replica now (SIGKILL), as a capacity drop would. */
  preempt(instanceId: string): void {
    const instance = this.#instances.get(instanceId);
    if (instance && isLive(instance)) this.#kill(instance, 'preempted', 'capacity-drop');
  }

  /**
   * Announces that a spot replica will be reclaimed in `inMs` (an interruption notice,
   * reported by `interruptions()`), then preempts it when the time comes.
   */
  interrupt(instanceId: string, inMs = this.#options.interruptionNoticeMs ?? 0): void {
    const instance = this.#instances.get(instanceId);
    if (instance === undefined || !isLive(instance)) return;
    const now = this.#clock.now();
    instance.notice = { instanceId, noticedAt: now, deadline: now + inMs };
    this.#schedule();
  }

  /** Process ids of live replicas, for tests and leak checks. */
  pids(): number[] {
    return [...this.#instances.values()]
      .filter(isLive)
      .map((instance) => instance.child?.pid)
      .filter((pid): pid is number => pid !== undefined);
  }

  /** Kills every replica process and stops the capacity watcher. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const instance of this.#instances.values()) {
      if (isLive(instance)) this.#kill(instance, 'terminated', 'provider-closed');
    }
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ProviderError('LocalProvider is closed');
  }

  #capacity(location: string, now: number): number {
    const capacity = this.#options.spotCapacity ?? Number.POSITIVE_INFINITY;
    return typeof capacity === 'number' ? capacity : Math.max(0, capacity(location, now));
  }

  #liveSpot(location: string): LocalInstance[] {
    return [...this.#instances.values()].filter(
      (instance) =>
        instance.location === location && instance.capacityType === 'spot' && isLive(instance),
    );
  }

  #view(instance: LocalInstance): Instance {
    return {
      id: instance.id,
      location: instance.location,
      instanceType: instance.instanceType,
      capacityType: instance.capacityType,
      state: instance.state,
      stateReason: instance.stateReason,
      tags: instance.tags,
      launchedAt: instance.launchedAt,
      endpoint: instance.endpoint,
    };
  }

  async #spawn(instance: LocalInstance, signal: AbortSignal | undefined): Promise<void> {
    const entry = this.#options.replica?.entry ?? defaultEntry();
    const args = ['--port', '0', '--startup-delay-ms', String(this.#options.coldStartMs ?? 0)];
    const replica = this.#options.replica;
    if (replica?.tokensPerSecond !== undefined) {
      args.push('--tokens-per-second', String(replica.tokensPerSecond));
    }
    if (replica?.concurrency !== undefined) args.push('--concurrency', String(replica.concurrency));
    const child = fork(entry, args, {
      execArgv: execArgvFor(entry),
      detached: true, // own process group: a kill reaches anything the replica started
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    instance.child = child;
    child.on('exit', () => {
      this.#removePidFile(instance);
      if (isLive(instance)) {
        instance.state = 'terminated';
        instance.stateReason = 'process-exited';
      }
    });
    this.#writePidFile(instance, child.pid);
    instance.endpoint = await new Promise<string>((resolve, reject) => {
      const timeout = setTimeout(
        () => finish(new ProviderError(`Replica ${instance.id} did not start listening`)),
        this.#options.spawnTimeoutMs ?? 15_000,
      );
      const onAbort = () => finish(new AbortedError('Launch aborted', { cause: signal?.reason }));
      const onMessage = (message: unknown) => {
        const url = (message as { type?: string; url?: string }).url;
        if ((message as { type?: string }).type === 'listening' && typeof url === 'string') {
          finish(undefined, url);
        }
      };
      const onExit = (code: number | null) =>
        finish(new ProviderError(`Replica ${instance.id} exited during start (code ${code})`));
      const finish = (error?: Error, url?: string) => {
        clearTimeout(timeout);
        signal?.removeEventListener('abort', onAbort);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(url!);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
    // The host must be able to exit while replicas run; they exit when it does.
    child.unref();
    child.channel?.unref();
    instance.state = 'running';
  }

  #kill(instance: LocalInstance, state: 'terminated' | 'preempted', reason: string): void {
    instance.state = state;
    instance.stateReason = reason;
    const pid = instance.child?.pid;
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    this.#removePidFile(instance);
    this.#trimHistory();
  }

  #trimHistory(): void {
    if (this.#instances.size <= HISTORY_LIMIT) return;
    for (const [id, instance] of this.#instances) {
      if (this.#instances.size <= HISTORY_LIMIT) break;
      if (!isLive(instance)) this.#instances.delete(id);
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#checkCapacity();
      if ([...this.#instances.values()].some(isLive)) this.#schedule();
    }, this.#checkIntervalMs);
  }

  /** Preempts the newest spot replicas of any location now above its capacity. */
  #checkCapacity(): void {
    const now = this.#clock.now();
    const noticeMs = this.#options.interruptionNoticeMs ?? 0;
    for (const location of this.#locations) {
      const live = this.#liveSpot(location.id).sort((a, b) => b.launchedAt - a.launchedAt);
      // Replicas whose notice deadline passed go first; then any excess over capacity now.
      for (const instance of live) {
        if (instance.notice?.deadline !== undefined && instance.notice.deadline <= now) {
          this.#kill(instance, 'preempted', 'capacity-drop');
        }
      }
      const remaining = live.filter(isLive);
      const excess = remaining.length - this.#capacity(location.id, now);
      remaining.slice(0, Math.max(0, excess)).forEach((instance) => {
        this.#kill(instance, 'preempted', 'capacity-drop');
      });
      if (noticeMs > 0) {
        // Warn as many of the newest replicas as the capacity ahead will not hold.
        const survivors = remaining.filter(isLive);
        const noticed = survivors.filter((instance) => instance.notice !== undefined).length;
        const upcoming = survivors.length - this.#capacity(location.id, now + noticeMs) - noticed;
        survivors
          .filter((instance) => instance.notice === undefined)
          .slice(0, Math.max(0, upcoming))
          .forEach((instance) => {
            instance.notice = { instanceId: instance.id, noticedAt: now, deadline: now + noticeMs };
          });
      }
    }
  }

  #pidFile(instance: LocalInstance): string {
    return join(this.#stateDirectory, `${process.pid}-${instance.id}.json`);
  }

  #writePidFile(instance: LocalInstance, pid: number | undefined): void {
    if (pid === undefined) return;
    writeFileSync(this.#pidFile(instance), JSON.stringify({ pid, hostPid: process.pid }));
  }

  #removePidFile(instance: LocalInstance): void {
    rmSync(this.#pidFile(instance), { force: true });
  }

  /** Ends replicas left behind by a host that died without cleaning up. */
  #reapOrphans(): void {
    for (const file of readdirSync(this.#stateDirectory)) {
      if (!file.endsWith('.json')) continue;
      const path = join(this.#stateDirectory, file);
      try {
        const { pid, hostPid } = JSON.parse(readFileSync(path, 'utf8')) as {
          pid: number;
          hostPid: number;
        };
        if (isAlive(hostPid)) continue; // a live host's (maybe this process's) replica
        if (isAlive(pid)) killGroup(pid, 'SIGKILL');
        rmSync(path, { force: true });
      } catch {
        rmSync(path, { force: true });
      }
    }
  }
}

function isLive(instance: LocalInstance): boolean {
  return instance.state === 'pending' || instance.state === 'running';
}

function resolveLocations(name: string, locations: readonly string[] | number): Location[] {
  if (typeof locations === 'number') {
    if (!Number.isInteger(locations) || locations < 1) {
      throw new InvalidConfigError(
        `Expected \`locations\` to be a positive integer or a list of ids, got ${describeValue(locations)}`,
        { setting: 'locations', value: locations },
      );
    }
    return Array.from({ length: locations }, (_, index) => {
      const base = DEFAULT_ZONES[index % DEFAULT_ZONES.length]!;
      const suffix =
        index < DEFAULT_ZONES.length ? '' : `-${Math.floor(index / DEFAULT_ZONES.length)}`;
      return parseLocationId(`${name}/${base}${suffix}`);
    });
  }
  if (locations.length === 0) {
    throw new InvalidConfigError('Expected `locations` to list at least one location', {
      setting: 'locations',
      value: locations,
    });
  }
  return locations.map((id) => {
    const location = parseLocationId(id);
    if (location.cloud !== name || location.region === '') {
      throw new InvalidConfigError(
        `Expected each of \`locations\` to look like "${name}/<region>/<zone>", got ${describeValue(id)}`,
        { setting: 'locations', value: id },
      );
    }
    return location;
  });
}
