/**
 * A `StateStore` over PostgreSQL (node-postgres): the store for a service that runs on
 * many hosts. All hosts share the replica table; one of them holds the leader lease and
 * is the only one whose (fenced) writes are accepted. Writes that change replicas send a
 * `NOTIFY`, so followers refresh their routing set at once instead of at their next poll.
 */
import pg from 'pg';
import {
  IllegalStateError,
  InvalidArgumentError,
  LeaseLostError,
  describeValue,
  throwIfAborted,
} from '@spothedge/core';
import type {
  AcquireLeaseRequest,
  CallContext,
  JsonValue,
  LaunchIntent,
  Lease,
  RenewLeaseRequest,
  ReplicaRecord,
  StateStore,
  StateWrite,
  StoredServiceState,
  WriteOptions,
} from '@spothedge/core';
import { migratePostgres } from './postgres-migrations.js';

/** Options of {@link PostgresStateStore}. */
export interface PostgresStateStoreOptions {
  /**
   * Where to connect (ignored when `pool` is given).
   * @example 'postgres://spothedge@db.internal:5432/spothedge'
   */
  readonly connectionString?: string | undefined;
  /** A pool to use instead of opening one (not closed by `close()`). */
  readonly pool?: pg.Pool | undefined;
  /**
   * PostgreSQL schema holding the tables (created if missing). One schema may hold many
   * services.
   * @default 'spothedge'
   */
  readonly schema?: string | undefined;
  /**
   * Which clock decides lease expiry. `database`: the server's clock, so hosts whose
   * clocks disagree still agree on who leads; the returned `Lease.expiresAt` is the
   * caller's `now + ttlMs` (a conservative local deadline, since the server's expiry is
   * set after `now`). `caller`: the `now` every call passes (virtual-time tests).
   * @default 'database'
   */
  readonly leaseClock?: 'database' | 'caller' | undefined;
  /**
   * Time budget of one query; a query that takes longer (server unreachable or paused)
   * rejects and its connection is dropped.
   * @default 5_000
   */
  readonly queryTimeoutMs?: number | undefined;
  /**
   * Time budget of opening a connection.
   * @default 5_000
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Pool size (when the store opens its own pool).
   * @default 4
   */
  readonly maxConnections?: number | undefined;
  /**
   * Delay before the notification listener reconnects after losing its connection.
   * @default 1_000
   */
  readonly reconnectDelayMs?: number | undefined;
  /** Background failures (idle connection dropped, listener lost); they are retried. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** One host's request count in one time bucket, as shared through the store. */
export interface RequestCount {
  readonly host: string;
  /** Bucket number: `Math.floor(epochMs / bucketMs)`. */
  readonly bucket: number;
  readonly count: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

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

interface LeaseRow {
  readonly holder: string;
  readonly epoch: string;
  readonly expires_at: string;
}

/**
 * {@link StateStore} over PostgreSQL, with a leader lease (TTL + fencing epoch), change
 * notifications ({@link PostgresStateStore.watch}) and shared request counts.
 *
 * Migrations run on first use (or {@link PostgresStateStore.migrate}); they are safe to run
 * from many hosts at once.
 *
 * @example
 * ```ts
 * import { PostgresStateStore } from '@spothedge/store-postgres';
 * const store = new PostgresStateStore({ connectionString: process.env.DATABASE_URL });
 * const service = createService({ spec, providers, store, lease: { holder: hostname() } });
 * ```
 */
export class PostgresStateStore implements StateStore {
  /** The schema holding the tables. */
  readonly schema: string;
  readonly leaseClock: 'database' | 'caller';
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #tables: {
    replicas: string;
    intents: string;
    policy: string;
    leases: string;
    requests: string;
  };
  readonly #channel: string;
  readonly #connection: pg.ClientConfig;
  readonly #reconnectDelayMs: number;
  readonly #onError: (error: unknown) => void;
  #ready: Promise<void> | undefined;
  #closed = false;
  readonly #watchers = new Map<string, Set<() => void>>();
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(options: PostgresStateStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError(
        `Expected \`options\` to be an object, got ${describeValue(options)}`,
        { argument: 'options', value: options },
      );
    }
    if (
      options.pool === undefined &&
      (typeof options.connectionString !== 'string' || options.connectionString === '')
    ) {
      throw new InvalidArgumentError(
        `Expected \`connectionString\` to be a PostgreSQL URL (or \`pool\` to be given), got ${describeValue(options.connectionString)}`,
        { argument: 'connectionString', value: options.connectionString },
      );
    }
    const schema = options.schema ?? 'spothedge';
    if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
      throw new InvalidArgumentError(
        `Expected \`schema\` to match ${SCHEMA_NAME}, got ${describeValue(schema)}`,
        { argument: 'schema', value: schema },
      );
    }
    const leaseClock = options.leaseClock ?? 'database';
    if (leaseClock !== 'database' && leaseClock !== 'caller') {
      throw new InvalidArgumentError(
        `Expected \`leaseClock\` to be 'database' or 'caller', got ${describeValue(leaseClock)}`,
        { argument: 'leaseClock', value: leaseClock },
      );
    }
    const queryTimeoutMs = positive('queryTimeoutMs', options.queryTimeoutMs, 5_000);
    const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, 5_000);
    const maxConnections = positive('maxConnections', options.maxConnections, 4);
    this.#reconnectDelayMs = positive('reconnectDelayMs', options.reconnectDelayMs, 1_000);
    this.schema = schema;
    this.leaseClock = leaseClock;
    this.#onError = options.onError ?? (() => undefined);
    this.#connection =
      options.pool === undefined
        ? {
            connectionString: options.connectionString,
            query_timeout: queryTimeoutMs,
            connectionTimeoutMillis: connectTimeoutMs,
            keepAlive: true,
          }
        : { ...options.pool.options };
    this.#ownsPool = options.pool === undefined;
    this.#pool =
      options.pool ??
      new pg.Pool({
        ...this.#connection,
        max: maxConnections,
        idleTimeoutMillis: 30_000,
        allowExitOnIdle: true,
      });
    // An idle connection that dies (server restart, pg_terminate_backend) is reported
    // here; without a listener node-postgres would crash the host.
    if (this.#ownsPool) this.#pool.on('error', (error) => this.#onError(error));
    const quoted = `"${schema}"`;
    this.#tables = {
      replicas: `${quoted}.replicas`,
      intents: `${quoted}.intents`,
      policy: `${quoted}.policy_state`,
      leases: `${quoted}.leases`,
      requests: `${quoted}.request_counts`,
    };
    this.#channel = `${schema}_state`;
  }

  // ---------------------------------------------------------------- setup

  /**
   * Creates or upgrades the schema (also done on first use). Safe to call from many hosts
   * at once. Resolves once the schema is current.
   */
  migrate(context?: CallContext): Promise<void> {
    this.#checkOpen();
    throwIfAborted(context?.abortSignal);
    this.#ready ??= (async () => {
      const { client, release } = await this.#connect();
      try {
        await migratePostgres(client, this.schema);
        release(false);
      } catch (error) {
        release(true);
        throw error;
      }
    })().catch((error: unknown) => {
      this.#ready = undefined; // retried by the next call
      throw error;
    });
    return this.#ready;
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new IllegalStateError('The PostgreSQL state store is closed', { state: 'closed' });
    }
  }

  /** Runs `work` in one transaction on one connection (dropped on failure). */
  async #transaction<T>(
    context: CallContext | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
    begin = 'BEGIN',
  ): Promise<T> {
    this.#checkOpen();
    throwIfAborted(context?.abortSignal);
    await this.migrate();
    const { client, release } = await this.#connect();
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      release(false);
      return result;
    } catch (error) {
      // A failed connection must not go back to the pool; a healthy one is rolled back.
      const broken = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      release(broken);
      throw error;
    }
  }

  /**
   * Checks a connection out. While checked out, a connection that dies between queries
   * emits `error` with nobody listening (the pool listens only on idle ones), which would
   * crash the host: report it instead; the next query on it rejects anyway.
   */
  async #connect(): Promise<{ client: pg.PoolClient; release: (broken: boolean) => void }> {
    const client = await this.#pool.connect();
    const onError = (error: Error) => this.#onError(error);
    client.on('error', onError);
    return {
      client,
      release: (broken) => {
        client.off('error', onError);
        client.release(broken);
      },
    };
  }

  async #query<Row extends pg.QueryResultRow>(
    context: CallContext | undefined,
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<Row>> {
    this.#checkOpen();
    throwIfAborted(context?.abortSignal);
    await this.migrate();
    return this.#pool.query<Row>(text, values as unknown[]);
  }

  // ---------------------------------------------------------------- state

  async load(service: string, context?: CallContext): Promise<StoredServiceState> {
    return this.#transaction(
      context,
      async (client) => {
        const replicas = await client.query<{ data: ReplicaRecord }>(
          `SELECT data FROM ${this.#tables.replicas} WHERE service = $1`,
          [service],
        );
        const intents = await client.query<{ data: LaunchIntent }>(
          `SELECT data FROM ${this.#tables.intents} WHERE service = $1`,
          [service],
        );
        const policy = await client.query<{ data: JsonValue }>(
          `SELECT data FROM ${this.#tables.policy} WHERE service = $1`,
          [service],
        );
        return {
          replicas: replicas.rows.map((row) => row.data),
          intents: intents.rows.map((row) => row.data),
          policyState: policy.rows[0]?.data,
        };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  async write(service: string, write: StateWrite, options: WriteOptions = {}): Promise<void> {
    await this.#transaction(options, async (client) => {
      const fence = options.fence;
      if (fence !== undefined) {
        // FOR SHARE: a concurrent takeover (UPDATE of this row) waits for this write, and
        // this write waits for a takeover in progress, so the check holds until commit.
        const current = await client.query<LeaseRow>(
          `SELECT holder, epoch FROM ${this.#tables.leases} WHERE service = $1 FOR SHARE`,
          [service],
        );
        const row = current.rows[0];
        if (row?.holder !== fence.holder || Number(row.epoch) !== fence.epoch) {
          throw leaseLost(fence);
        }
      }
      let replicasChanged = false;
      const deleteReplicas = write.deleteReplicas ?? [];
      if (deleteReplicas.length > 0) {
        const result = await client.query(
          `DELETE FROM ${this.#tables.replicas} WHERE service = $1 AND id = ANY($2::text[])`,
          [service, deleteReplicas],
        );
        replicasChanged ||= (result.rowCount ?? 0) > 0;
      }
      const deleteIntents = write.deleteIntents ?? [];
      if (deleteIntents.length > 0) {
        await client.query(
          `DELETE FROM ${this.#tables.intents} WHERE service = $1 AND idempotency_key = ANY($2::text[])`,
          [service, deleteIntents],
        );
      }
      const replicas = lastById(write.replicas ?? [], (record) => record.id);
      if (replicas.length > 0) {
        // One JSON array parameter: far cheaper to encode and parse than three text[]
        // array literals at thousands of records.
        await client.query(
          `INSERT INTO ${this.#tables.replicas} (service, id, status, data)
           SELECT $1, item->>'id', item->'state'->>'status', item
           FROM jsonb_array_elements($2::jsonb) AS item
           ON CONFLICT (service, id) DO UPDATE SET status = EXCLUDED.status, data = EXCLUDED.data`,
          [service, JSON.stringify(replicas)],
        );
        replicasChanged = true;
      }
      const intents = lastById(write.intents ?? [], (intent) => intent.idempotencyKey);
      if (intents.length > 0) {
        await client.query(
          `INSERT INTO ${this.#tables.intents} (service, idempotency_key, replica_id, data)
           SELECT $1, item->>'idempotencyKey', item->>'replicaId', item
           FROM jsonb_array_elements($2::jsonb) AS item
           ON CONFLICT (service, idempotency_key) DO UPDATE
             SET replica_id = EXCLUDED.replica_id, data = EXCLUDED.data`,
          [service, JSON.stringify(intents)],
        );
      }
      if (write.policyState !== undefined) {
        await client.query(
          `INSERT INTO ${this.#tables.policy} (service, data) VALUES ($1, $2::jsonb)
           ON CONFLICT (service) DO UPDATE SET data = EXCLUDED.data`,
          [service, JSON.stringify(write.policyState)],
        );
      }
      if (replicasChanged) {
        // Delivered to listeners on commit only.
        await client.query('SELECT pg_notify($1, $2)', [this.#channel, service]);
      }
    });
  }

  // ---------------------------------------------------------------- lease

  /** SQL for "now" in ms, and the parameters it needs after `offset` others. */
  #now(now: number, offset: number): { sql: string; values: number[] } {
    return this.leaseClock === 'caller'
      ? { sql: `$${offset + 1}::bigint`, values: [Math.floor(now)] }
      : { sql: `(extract(epoch from clock_timestamp()) * 1000)::bigint`, values: [] };
  }

  #toLease(row: LeaseRow, service: string, now: number, ttlMs: number): Lease {
    return {
      service,
      holder: row.holder,
      epoch: Number(row.epoch),
      expiresAt: this.leaseClock === 'caller' ? Number(row.expires_at) : now + ttlMs,
    };
  }

  async acquireLease(
    request: AcquireLeaseRequest,
    context?: CallContext,
  ): Promise<Lease | undefined> {
    const ttlMs = Math.max(0, Math.floor(request.ttlMs));
    const now = this.#now(request.now, 3);
    const result = await this.#query<LeaseRow>(
      context,
      `INSERT INTO ${this.#tables.leases} AS lease (service, holder, epoch, expires_at)
       VALUES ($1, $2, 1, ${now.sql} + $3::bigint)
       ON CONFLICT (service) DO UPDATE SET
         epoch = CASE WHEN lease.holder = EXCLUDED.holder THEN lease.epoch ELSE lease.epoch + 1 END,
         holder = EXCLUDED.holder,
         expires_at = EXCLUDED.expires_at
       WHERE lease.holder = EXCLUDED.holder OR lease.holder IS NULL OR lease.expires_at <= ${now.sql}
       RETURNING holder, epoch, expires_at`,
      [request.service, request.holder, ttlMs, ...now.values],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : this.#toLease(row, request.service, request.now, ttlMs);
  }

  async renewLease(
    lease: Lease,
    request: RenewLeaseRequest,
    context?: CallContext,
  ): Promise<Lease> {
    const ttlMs = Math.max(0, Math.floor(request.ttlMs));
    const now = this.#now(request.now, 4);
    const result = await this.#query<LeaseRow>(
      context,
      `UPDATE ${this.#tables.leases} SET expires_at = ${now.sql} + $4::bigint
       WHERE service = $1 AND holder = $2 AND epoch = $3
       RETURNING holder, epoch, expires_at`,
      [lease.service, lease.holder, lease.epoch, ttlMs, ...now.values],
    );
    const row = result.rows[0];
    if (row === undefined) throw leaseLost(lease);
    return this.#toLease(row, lease.service, request.now, ttlMs);
  }

  async releaseLease(lease: Lease, context?: CallContext): Promise<void> {
    await this.#query(
      context,
      `UPDATE ${this.#tables.leases} SET holder = NULL, expires_at = 0
       WHERE service = $1 AND holder = $2 AND epoch = $3`,
      [lease.service, lease.holder, lease.epoch],
    );
  }

  /** The service's current lease row (holder `undefined` when released), for tools and tests. */
  async currentLease(service: string, context?: CallContext): Promise<Lease | undefined> {
    const result = await this.#query<LeaseRow>(
      context,
      `SELECT holder, epoch, expires_at FROM ${this.#tables.leases} WHERE service = $1`,
      [service],
    );
    const row = result.rows[0];
    if (row === undefined || row.holder === null) return undefined;
    return {
      service,
      holder: row.holder,
      epoch: Number(row.epoch),
      expiresAt: Number(row.expires_at),
    };
  }

  // ---------------------------------------------------------------- request counts

  /** Adds request counts of `host` (upsert, counts add up). */
  async addRequestCounts(
    service: string,
    counts: readonly RequestCount[],
    context?: CallContext,
  ): Promise<void> {
    if (counts.length === 0) return;
    await this.#query(
      context,
      `INSERT INTO ${this.#tables.requests} AS counts (service, host, bucket, count)
       SELECT $1, u.host, u.bucket, u.count
       FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS u(host, bucket, count)
       ON CONFLICT (service, host, bucket) DO UPDATE SET count = counts.count + EXCLUDED.count`,
      [
        service,
        counts.map((item) => item.host),
        counts.map((item) => item.bucket),
        counts.map((item) => item.count),
      ],
    );
  }

  /** Request counts of every host in buckets `>= fromBucket`. */
  async requestCounts(
    service: string,
    fromBucket: number,
    context?: CallContext,
  ): Promise<RequestCount[]> {
    const result = await this.#query<{ host: string; bucket: string; count: string }>(
      context,
      `SELECT host, bucket, count FROM ${this.#tables.requests}
       WHERE service = $1 AND bucket >= $2`,
      [service, fromBucket],
    );
    return result.rows.map((row) => ({
      host: row.host,
      bucket: Number(row.bucket),
      count: Number(row.count),
    }));
  }

  /** Deletes request counts in buckets `< beforeBucket`. */
  async pruneRequestCounts(
    service: string,
    beforeBucket: number,
    context?: CallContext,
  ): Promise<void> {
    await this.#query(
      context,
      `DELETE FROM ${this.#tables.requests} WHERE service = $1 AND bucket < $2`,
      [service, beforeBucket],
    );
  }

  // ---------------------------------------------------------------- notifications

  /**
   * Calls `listener` whenever a write changed `service`'s replicas (PostgreSQL
   * `LISTEN`/`NOTIFY`), and once after every (re)connection of the listener, since changes
   * may have been missed while it was away. Returns the unsubscribe function.
   * Notifications are a hint: pair them with polling.
   */
  watch(service: string, listener: () => void): () => void {
    this.#checkOpen();
    let set = this.#watchers.get(service);
    if (set === undefined) {
      set = new Set();
      this.#watchers.set(service, set);
    }
    set.add(listener);
    this.#listen();
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#watchers.delete(service);
    };
  }

  #listen(): void {
    if (this.#listener !== undefined || this.#listening !== undefined || this.#closed) return;
    const client = new pg.Client({ ...this.#connection, query_timeout: undefined });
    const lost = (error?: unknown) => {
      if (this.#listener === client) this.#listener = undefined;
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      if (error !== undefined) this.#onError(error);
      this.#scheduleListen();
    };
    client.on('error', (error) => lost(error));
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel !== this.#channel || message.payload === undefined) return;
      this.#notify(message.payload);
    });
    this.#listening = (async () => {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.#channel)}`);
    })().then(
      () => {
        this.#listening = undefined;
        if (this.#closed) {
          void client.end().catch(() => undefined);
          return;
        }
        this.#listener = client;
        for (const service of this.#watchers.keys()) this.#notify(service);
      },
      (error: unknown) => {
        this.#listening = undefined;
        lost(error);
      },
    );
  }

  #scheduleListen(): void {
    if (this.#closed || this.#reconnectTimer !== undefined || this.#watchers.size === 0) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#listen();
    }, this.#reconnectDelayMs);
    this.#reconnectTimer.unref();
  }

  #notify(service: string): void {
    for (const listener of this.#watchers.get(service) ?? []) {
      try {
        listener();
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  // ---------------------------------------------------------------- close

  /** Closes the listener and the pool (when the store opened it). Further calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener !== undefined) {
      listener.removeAllListeners();
      listener.on('error', () => undefined);
      await listener.end().catch(() => undefined);
    }
    await this.#ready?.catch(() => undefined);
    if (this.#ownsPool) await this.#pool.end().catch(() => undefined);
  }
}

function leaseLost(lease: Lease): LeaseLostError {
  return new LeaseLostError(
    `Lease of service \`${lease.service}\` at epoch ${lease.epoch} held by \`${lease.holder}\` is no longer current`,
  );
}

function lastById<T>(items: readonly T[], key: (item: T) => string): T[] {
  if (items.length < 2) return [...items];
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(key(item), item);
  return [...byKey.values()];
}
