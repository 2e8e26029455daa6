/**
 * Readiness probing. The reconciler decides *when* to probe (initial delay, period,
 * failure threshold); a {@link Prober} only answers "does this replica serve now?". The
 * default {@link HttpProber} asks over HTTP with undici; the simulator supplies its own.
 */
import type { Dispatcher } from 'undici';
import { InvalidArgumentError, describeValue } from '../errors.js';
import { loadUndici } from '../router/load-undici.js';
import type { CapacityType } from '../provider.js';
import type { JsonValue } from '../policy/types.js';

/** The replica a probe is about. */
export interface ProbeTarget {
  readonly replicaId: string;
  readonly instanceId: string;
  /** Base URL, e.g. `http://10.0.0.5:8080`. */
  readonly endpoint: string;
  readonly location: string;
  readonly capacityType: CapacityType;
}

export interface ProbeContext {
  /** Fires when the probe must give up (timeout or shutdown). */
  readonly abortSignal: AbortSignal;
  /** The probe's time budget; the signal fires when it is spent. */
  readonly timeoutMs: number;
}

/**
 * Answers whether a replica is ready. Return (or resolve) `false`, or reject, for "not
 * ready"; the reconciler counts failures against the failure threshold. A synchronous
 * answer is allowed (the simulator's prober), and saves a promise per probe.
 */
export interface Prober {
  probe(target: ProbeTarget, context: ProbeContext): boolean | Promise<boolean>;
  /** Releases sockets. Called by `ReplicaManager.stop()`. */
  close?(): Promise<void>;
}

/** How a replica's readiness is checked, and how often. */
export interface ReadinessProbeOptions {
  /**
   * Path requested on the replica's endpoint.
   * @default '/'
   */
  readonly path?: string | undefined;
  /**
   * `GET`, or `POST` with {@link ReadinessProbeOptions.body} as JSON.
   * @default 'GET' ('POST' when a body is given)
   */
  readonly method?: 'GET' | 'POST' | undefined;
  /** JSON body of a POST probe (e.g. a tiny completion request). */
  readonly body?: JsonValue | undefined;
  /** Extra request headers (e.g. an authorization header). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Grace period from launch: a replica not ready this long after its launch is failed
   * and replaced (cold starts of large models take minutes).
   * @default 1_200_000 (20 minutes, as SkyServe)
   */
  readonly initialDelayMs?: number | undefined;
  /**
   * Time budget of one probe.
   * @default 15_000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Minimum time between two probes of a replica (probes happen on reconcile ticks).
   * @default 10_000
   */
  readonly periodMs?: number | undefined;
  /**
   * Consecutive failed probes of a ready replica after which it is checked against the
   * provider: gone or preempted → preempted; still running → failed and replaced.
   * @default 3
   */
  readonly failureThreshold?: number | undefined;
}

/** {@link ReadinessProbeOptions} with defaults applied. */
export interface ResolvedReadinessProbe {
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly body: JsonValue | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly initialDelayMs: number;
  readonly timeoutMs: number;
  readonly periodMs: number;
  readonly failureThreshold: number;
}

function nonNegative(argument: string, value: unknown, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a non-negative ${integer ? 'integer' : 'number'}, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

/**
 * Validates readiness-probe options and fills defaults.
 * @throws {InvalidArgumentError} naming the option and the value.
 */
export function resolveReadinessProbe(
  options: ReadinessProbeOptions = {},
  argument = 'readinessProbe',
): ResolvedReadinessProbe {
  const path = options.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidArgumentError(
      `Expected \`${argument}.path\` to start with "/", got ${describeValue(path)}`,
      { argument: `${argument}.path`, value: path },
    );
  }
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  if (method !== 'GET' && method !== 'POST') {
    throw new InvalidArgumentError(
      `Expected \`${argument}.method\` to be 'GET' or 'POST', got ${describeValue(method)}`,
      { argument: `${argument}.method`, value: method },
    );
  }
  const failureThreshold = nonNegative(
    `${argument}.failureThreshold`,
    options.failureThreshold,
    3,
    true,
  );
  if (failureThreshold < 1) {
    throw new InvalidArgumentError(
      `Expected \`${argument}.failureThreshold\` to be an integer >= 1, got ${describeValue(failureThreshold)}`,
      { argument: `${argument}.failureThreshold`, value: failureThreshold },
    );
  }
  return {
    path,
    method,
    body: options.body,
    headers: { ...options.headers },
    initialDelayMs: nonNegative(`${argument}.initialDelayMs`, options.initialDelayMs, 1_200_000),
    timeoutMs: nonNegative(`${argument}.timeoutMs`, options.timeoutMs, 15_000),
    periodMs: nonNegative(`${argument}.periodMs`, options.periodMs, 10_000),
    failureThreshold,
  };
}

/** Options of {@link HttpProber}. */
export interface HttpProberOptions {
  /** What to request; only `path`, `method`, `body` and `headers` matter here. */
  readonly readinessProbe?: ReadinessProbeOptions | undefined;
  /**
   * undici dispatcher to send probes through.
   * @default a private `Agent` closed by `close()`
   */
  readonly dispatcher?: Dispatcher | undefined;
}

/**
 * Probes `endpoint + path` over HTTP with undici; ready means a 2xx answer within the
 * timeout. The response body is discarded.
 *
 * @example
 * ```ts
 * const prober = new HttpProber({ readinessProbe: { path: '/v1/models' } });
 * ```
 */
export class HttpProber implements Prober {
  readonly #probe: ResolvedReadinessProbe;
  readonly #ownsDispatcher: boolean;
  readonly #body: string | undefined;
  #dispatcher: Dispatcher | undefined;
  // undici loads on the first probe: hosts that supply their own prober never pay for it.

  constructor(options: HttpProberOptions = {}) {
    this.#probe = resolveReadinessProbe(options.readinessProbe);
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher;
    this.#body = this.#probe.method === 'POST' ? JSON.stringify(this.#probe.body ?? {}) : undefined;
  }

  async probe(target: ProbeTarget, context: ProbeContext): Promise<boolean> {
    const url = new URL(this.#probe.path, target.endpoint);
    const headers: Record<string, string> = { ...this.#probe.headers };
    if (this.#body !== undefined) headers['content-type'] ??= 'application/json';
    try {
      const undici = loadUndici();
      this.#dispatcher ??= new undici.Agent({ keepAliveTimeout: 10_000, connections: 64 });
      const response = await undici.request(url, {
        method: this.#probe.method,
        headers,
        body: this.#body,
        signal: context.abortSignal,
        dispatcher: this.#dispatcher,
        headersTimeout: context.timeoutMs,
        bodyTimeout: context.timeoutMs,
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 300;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const dispatcher = this.#dispatcher;
    if (this.#ownsDispatcher && dispatcher !== undefined) {
      this.#dispatcher = undefined;
      await dispatcher.destroy();
    }
  }
}
