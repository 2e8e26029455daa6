/**
 * The router's registry of ready replicas: one undici connection pool (keep-alive) per
 * replica, in-flight counts for the load balancer, and the rule that a replica removed
 * from the ready set leaves at once while its pool closes after its in-flight requests.
 */
import type { Pool } from 'undici';
import { loadUndici } from './load-undici.js';
import type { Clock } from '../clock.js';
import { InvalidArgumentError, describeValue } from '../errors.js';
import type { BalancerCandidate, LoadBalancer, RoutableReplica } from './load-balancer.js';
import type { SecretHeaders } from './http-headers.js';

/** Replica headers configured by the host: fixed, or computed per replica. */
export type ReplicaHeaders =
  | Readonly<Record<string, string>>
  | ((replica: RoutableReplica) => Readonly<Record<string, string>>);

/** One registered replica and its pool. */
export interface ReplicaEntry {
  replica: RoutableReplica;
  /** The endpoint's path prefix without a trailing slash (`''` for `http://host:port`). */
  readonly basePath: string;
  readonly pool: Pool;
  /** Replica headers as a flat `[name, value, ...]` list, names lower-case. */
  readonly headers: readonly string[];
  readonly secrets: SecretHeaders;
  inFlight: number;
  /** Set once the replica left the ready set; it gets no new requests. */
  removed: boolean;
  /** Epoch ms until which the replica gets no new request (0: not quarantined). */
  quarantinedUntil: number;
  connectFailures: number;
}

export interface ReplicaPoolsOptions {
  readonly replicaHeaders: ReplicaHeaders | undefined;
  readonly connectTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export class ReplicaPools {
  readonly #options: ReplicaPoolsOptions;
  #entries: ReplicaEntry[] = [];
  readonly #byId = new Map<string, ReplicaEntry>();
  // Removed replicas whose requests are still running, for `inFlightOf` and `destroy`.
  readonly #draining = new Set<ReplicaEntry>();
  #replicas: readonly RoutableReplica[] = Object.freeze([]);
  // Registered entries with `quarantinedUntil > 0`: skip the filter when there are none.
  #quarantined = 0;

  constructor(options: ReplicaPoolsOptions) {
    this.#options = options;
  }

  get replicas(): readonly RoutableReplica[] {
    return this.#replicas;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Replaces the ready set; validates everything before changing anything. */
  set(replicas: readonly RoutableReplica[]): void {
    const parsed = replicas.map((replica, index) => parseReplica(replica, index));
    const seen = new Set<string>();
    for (const [index, { replica }] of parsed.entries()) {
      if (seen.has(replica.id)) {
        throw new InvalidArgumentError(
          `Expected \`replicas[${index}].id\` to be unique, got ${describeValue(replica.id)} twice`,
          { argument: `replicas[${index}].id`, value: replica.id },
        );
      }
      seen.add(replica.id);
    }
    const next: ReplicaEntry[] = [];
    for (const { replica, origin, basePath } of parsed) {
      const existing = this.#byId.get(replica.id);
      if (existing !== undefined && existing.replica.endpoint === replica.endpoint) {
        existing.replica = replica;
        next.push(existing);
      } else {
        next.push(this.#createEntry(replica, origin, basePath));
      }
    }
    const kept = new Set(next);
    for (const entry of this.#entries) if (!kept.has(entry)) this.#retire(entry);
    this.#entries = next;
    this.#byId.clear();
    for (const entry of next) this.#byId.set(entry.replica.id, entry);
    this.#replicas = Object.freeze(next.map((entry) => entry.replica));
  }

  /**
   * Asks the balancer for a replica among the registered ones, leaving out `excluded`
   * (replicas that already failed this request) and quarantined ones (connections
   * refused lately), unless nothing else is left.
   */
  pick(
    balancer: LoadBalancer,
    excluded: ReadonlySet<ReplicaEntry> | undefined,
    clock: Clock,
  ): ReplicaEntry | undefined {
    let entries = this.#entries;
    if (entries.length === 0) return undefined;
    if ((excluded !== undefined && excluded.size > 0) || this.#quarantined > 0) {
      const now = this.#quarantined > 0 ? clock.now() : 0;
      const remaining = entries.filter(
        (entry) => !excluded?.has(entry) && !(entry.quarantinedUntil > now),
      );
      if (remaining.length > 0) {
        entries = remaining;
      } else if (excluded !== undefined && excluded.size > 0) {
        const untried = entries.filter((entry) => !excluded.has(entry));
        if (untried.length > 0) entries = untried;
      }
    }
    const candidates: BalancerCandidate[] = new Array<BalancerCandidate>(entries.length);
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      candidates[index] = { replica: entry.replica, inFlight: entry.inFlight };
    }
    const chosen = balancer.pick(candidates);
    if (chosen === undefined) return undefined;
    // Map back by identity, then by id: the balancer can only choose, never add, an address.
    for (const entry of entries) if (entry.replica === chosen) return entry;
    const byId = this.#byId.get(chosen.id);
    return byId !== undefined && entries.includes(byId) ? byId : undefined;
  }

  /**
   * Passive health: a replica that refused a connection (or timed out connecting) gets
   * no requests for a while — 1 s, doubling per consecutive failure, at most 30 s — unless
   * no other replica is left. Without it, least-load would send every request first to a
   * dead replica (it has nothing in flight) until the engine notices.
   */
  quarantine(entry: ReplicaEntry, now: number): void {
    if (!(entry.quarantinedUntil > 0)) this.#quarantined++;
    entry.connectFailures++;
    entry.quarantinedUntil = now + Math.min(30_000, 1_000 * 2 ** (entry.connectFailures - 1));
  }

  /** A response arrived from `entry`: it is healthy again. */
  healthy(entry: ReplicaEntry): void {
    if (entry.quarantinedUntil > 0) {
      this.#quarantined--;
      entry.quarantinedUntil = 0;
    }
    entry.connectFailures = 0;
  }

  /** Whether a registered replica is not in `excluded`. */
  hasUntried(excluded: ReadonlySet<ReplicaEntry>): boolean {
    for (const entry of this.#entries) if (!excluded.has(entry)) return true;
    return false;
  }

  /** Called when a request on `entry` ends. */
  release(entry: ReplicaEntry): void {
    entry.inFlight--;
    if (entry.removed && entry.inFlight === 0) this.#draining.delete(entry);
  }

  /** Requests in flight on the replica with this id (also while it drains). */
  inFlightOf(replicaId: string): number {
    let total = this.#byId.get(replicaId)?.inFlight ?? 0;
    for (const entry of this.#draining) if (entry.replica.id === replicaId) total += entry.inFlight;
    return total;
  }

  /** Closes every pool gracefully (queued requests finish first). */
  async close(): Promise<void> {
    const entries = [...this.#entries, ...this.#draining];
    this.#entries = [];
    this.#byId.clear();
    this.#replicas = Object.freeze([]);
    this.#quarantined = 0;
    await Promise.all(entries.map((entry) => closePool(entry.pool)));
  }

  /** Destroys every pool at once; running requests fail. */
  async destroy(reason: Error): Promise<void> {
    const entries = [...this.#entries, ...this.#draining];
    this.#entries = [];
    this.#byId.clear();
    this.#replicas = Object.freeze([]);
    this.#draining.clear();
    this.#quarantined = 0;
    await Promise.all(entries.map((entry) => entry.pool.destroy(reason).catch(() => undefined)));
  }

  #createEntry(replica: RoutableReplica, origin: string, basePath: string): ReplicaEntry {
    const configured = this.#options.replicaHeaders;
    const record = typeof configured === 'function' ? configured(replica) : (configured ?? {});
    const headers: string[] = [];
    const names = new Set<string>();
    const values: string[] = [];
    for (const [name, value] of Object.entries(record)) {
      const lower = name.toLowerCase();
      headers.push(lower, value);
      names.add(lower);
      // Very short values ("1", "yes") are too common to scan responses for.
      if (value.length >= 8) values.push(value);
    }
    const pool = new (loadUndici().Pool)(origin, {
      connectTimeout: this.#options.connectTimeoutMs,
      keepAliveTimeout: this.#options.keepAliveTimeoutMs,
    });
    return {
      replica,
      basePath,
      pool,
      headers,
      secrets: { names, values, endpoint: origin + basePath },
      inFlight: 0,
      removed: false,
      quarantinedUntil: 0,
      connectFailures: 0,
    };
  }

  // The replica leaves the ready set now; undici's `close()` lets queued requests finish.
  #retire(entry: ReplicaEntry): void {
    entry.removed = true;
    if (entry.quarantinedUntil > 0) this.#quarantined--;
    entry.quarantinedUntil = 0;
    if (entry.inFlight > 0) this.#draining.add(entry);
    void closePool(entry.pool);
  }
}

async function closePool(pool: Pool): Promise<void> {
  try {
    await pool.close();
  } catch {
    // Already closed or destroyed.
  }
}

function parseReplica(
  replica: RoutableReplica,
  index: number,
): { replica: RoutableReplica; origin: string; basePath: string } {
  if (typeof replica?.id !== 'string' || replica.id === '') {
    throw new InvalidArgumentError(
      `Expected \`replicas[${index}].id\` to be a non-empty string, got ${describeValue(replica?.id)}`,
      { argument: `replicas[${index}].id`, value: replica?.id },
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(replica.endpoint);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new InvalidArgumentError(
      `Expected \`replicas[${index}].endpoint\` to be an http(s) base URL without credentials, query or fragment, got ${describeValue(replica.endpoint)}`,
      { argument: `replicas[${index}].endpoint`, value: replica.endpoint },
    );
  }
  const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return { replica, origin: url.origin, basePath };
}
