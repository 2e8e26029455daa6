/**
 * What turns many hosts into one service, on top of the shared store: followers refresh
 * their routing set as soon as the leader changes the replica table (LISTEN/NOTIFY; their
 * reconcile ticks poll as the fallback), and every host shares its request counts so the
 * leader's autoscaler sizes the fleet for the whole service's traffic.
 */
import { InvalidArgumentError, describeValue } from '@spothedge/core';
import type { RequestRecorder, Service } from '@spothedge/core';
import type { PostgresStateStore, RequestCount } from './postgres-state-store.js';

/** Options of {@link PostgresHostSync}. */
export interface PostgresHostSyncOptions {
  /** The store the service uses. */
  readonly store: PostgresStateStore;
  /** This host's id: the service's `lease.holder`. */
  readonly host: string;
  /**
   * How often this host writes its request counts and reads the other hosts'.
   * @default 1_000
   */
  readonly flushIntervalMs?: number | undefined;
  /**
   * Width of a request-count bucket. Keep it ≤ the autoscaler's window / 60 (1 s for the
   * default 60 s window) so shared counts land in the right autoscaler bucket.
   * @default 1_000
   */
  readonly bucketMs?: number | undefined;
  /**
   * How far back other hosts' counts are read (and after which the leader deletes them).
   * @default 120_000
   */
  readonly windowMs?: number | undefined;
  /** Background failures (a flush or a follower refresh that failed; both are retried). */
  readonly onError?: ((error: unknown) => void) | undefined;
  /**
   * Time source of the flush loop and of the request timestamps' buckets.
   * @default Date.now
   */
  readonly now?: (() => number) | undefined;
}

function positive(argument: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a number > 0, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

/**
 * Connects one host's {@link Service} to the other hosts through a
 * {@link PostgresStateStore}. Pass it as the service's `requestRecorder`, then
 * {@link PostgresHostSync.attach} the service.
 *
 * @example
 * ```ts
 * const sync = new PostgresHostSync({ store, host: 'web-1' });
 * const service = createService({
 *   spec, providers, store,
 *   lease: { holder: 'web-1', ttlMs: 15_000 },
 *   requestRecorder: sync,
 * });
 * sync.attach(service);
 * await service.start();
 * // ...
 * await service.stop();
 * await sync.close();
 * await store.close();
 * ```
 */
export class PostgresHostSync implements RequestRecorder {
  readonly host: string;
  readonly #store: PostgresStateStore;
  readonly #flushIntervalMs: number;
  readonly #bucketMs: number;
  readonly #windowMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  /** This host's counts not yet written, by bucket. */
  #pending = new Map<number, number>();
  /** Other hosts' counts already fed to the autoscaler, by `host|bucket`. */
  readonly #fed = new Map<string, number>();
  #service: Service | undefined;
  #leader = false;
  #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;
  #closed = false;

  constructor(options: PostgresHostSyncOptions) {
    if (typeof options?.store?.watch !== 'function') {
      throw new InvalidArgumentError(
        `Expected \`store\` to be a PostgresStateStore, got ${describeValue(options?.store)}`,
        { argument: 'store', value: options?.store },
      );
    }
    if (typeof options.host !== 'string' || options.host === '') {
      throw new InvalidArgumentError(
        `Expected \`host\` to be a non-empty string, got ${describeValue(options.host)}`,
        { argument: 'host', value: options.host },
      );
    }
    this.host = options.host;
    this.#store = options.store;
    this.#flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs, 1_000);
    this.#bucketMs = positive('bucketMs', options.bucketMs, 1_000);
    this.#windowMs = positive('windowMs', options.windowMs, 120_000);
    this.#onError = options.onError ?? (() => undefined);
    this.#now = options.now ?? Date.now;
  }

  /** Counts one routed request of this host (the router calls it through the service). */
  record(at: number): void {
    const bucket = Math.floor(at / this.#bucketMs);
    this.#pending.set(bucket, (this.#pending.get(bucket) ?? 0) + 1);
  }

  /** Whether the attached service holds the lease (as of its last `lease-*` event). */
  get leader(): boolean {
    return this.#leader;
  }

  /**
   * Starts following `service`: refresh its routing set on every change notification
   * while it is a follower, and share request counts every `flushIntervalMs`.
   */
  attach(service: Service): void {
    if (this.#service !== undefined) {
      throw new InvalidArgumentError(
        `Expected \`service\` to be attached once, got a second service ${describeValue(service.name)}`,
        { argument: 'service', value: service.name },
      );
    }
    this.#service = service;
    this.#unsubscribe = [
      service.on('lease-acquire', () => {
        this.#leader = true;
      }),
      service.on('lease-lose', () => {
        this.#leader = false;
      }),
      this.#store.watch(service.name, () => this.#refresh()),
    ];
    this.#schedule();
  }

  /** A follower reads the replica table now (coalesced: one read at a time). */
  #refresh(): void {
    const service = this.#service;
    if (service === undefined || this.#leader || this.#closed) return;
    if (this.#refreshing !== undefined) {
      this.#refreshAgain = true;
      return;
    }
    this.#refreshing = service
      .reconcile()
      .catch((error: unknown) => this.#onError(error))
      .finally(() => {
        this.#refreshing = undefined;
        if (this.#refreshAgain) {
          this.#refreshAgain = false;
          this.#refresh();
        }
      });
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush()
        .catch((error: unknown) => this.#onError(error))
        .finally(() => this.#schedule());
    }, this.#flushIntervalMs);
    this.#timer.unref();
  }

  /**
   * Writes this host's new request counts and feeds the other hosts' new counts to the
   * service's autoscaler (every host, so each one's `status().qps` is the service's).
   * The leader also deletes counts older than `windowMs`.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    const service = this.#service;
    if (service === undefined) return;
    const pending = this.#pending;
    this.#pending = new Map();
    const counts: RequestCount[] = [...pending].map(([bucket, count]) => ({
      host: this.host,
      bucket,
      count,
    }));
    try {
      await this.#store.addRequestCounts(service.name, counts);
    } catch (error) {
      for (const [bucket, count] of pending) {
        this.#pending.set(bucket, (this.#pending.get(bucket) ?? 0) + count);
      }
      throw error;
    }
    const oldest = Math.floor((this.#now() - this.#windowMs) / this.#bucketMs);
    const shared = await this.#store.requestCounts(service.name, oldest);
    for (const item of shared) {
      if (item.host === this.host) continue;
      const key = `${item.host}|${item.bucket}`;
      const fed = this.#fed.get(key) ?? 0;
      const at = item.bucket * this.#bucketMs;
      for (let index = fed; index < item.count; index++) service.autoscaler.record(at);
      if (item.count > fed) this.#fed.set(key, item.count);
    }
    for (const key of this.#fed.keys()) {
      if (Number(key.slice(key.lastIndexOf('|') + 1)) < oldest) this.#fed.delete(key);
    }
    if (this.#leader) await this.#store.pruneRequestCounts(service.name, oldest);
  }

  /** Stops following; writes the last counts. Does not stop the service or close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    await this.#refreshing;
    await this.flush().catch((error: unknown) => this.#onError(error));
  }
}
