/**
 * The data path: picks a ready replica per request, forwards it through a keep-alive
 * undici pool, streams both bodies, fails over when that is provably safe, and feeds the
 * autoscaler. Exposed as a WHATWG-style `fetch` and as a node:http handler.
 */
import { SystemClock, type Clock, type TimerHandle } from '../clock.js';
import {
  AbortedError,
  IllegalStateError,
  InvalidArgumentError,
  InvalidConfigError,
  UpstreamError,
  describeValue,
} from '../errors.js';
import {
  Exchange,
  type ExchangeSink,
  type ExchangeSettings,
  type OutboundRequest,
} from './exchange.js';
import {
  HOP_BY_HOP_REQUEST_HEADERS,
  clientResponseHeaderList,
  connectionTokens,
} from './http-headers.js';
import {
  createLoadBalancer,
  type LoadBalancer,
  type LoadBalancingPolicyName,
  type RoutableReplica,
} from './load-balancer.js';
import { createProxyHandler, type ProxyHandler } from './proxy-handler.js';
import { ReplicaPools, type ReplicaEntry, type ReplicaHeaders } from './replica-pools.js';
import { RequestBody } from './request-body.js';
import { fetchPathOf } from './request-target.js';

/** Receives the arrival time of every routed request (the autoscaler implements it). */
export interface RequestRecorder {
  /** Called once per request, synchronously, with `clock.now()`. Must be cheap. */
  record(at: number): void;
}

/** A structured logger; every method is optional. `console` fits. */
export interface RouterLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

export interface RouterOptions {
  /**
   * Time source for the autoscaler feed, request deadlines and retry backoff.
   * @default new SystemClock()
   */
  readonly clock?: Clock;
  /**
   * How to choose a replica: `'least-load'` (fewest requests in flight, fair ties),
   * `'round-robin'`, or your own {@link LoadBalancer}.
   * @default 'least-load'
   */
  readonly loadBalancing?: LoadBalancingPolicyName | LoadBalancer;
  /** Told about every request the router receives, including those answered 503. */
  readonly recorder?: RequestRecorder;
  /**
   * Deadline for a whole exchange, response body included (LLM streams can be long).
   * `Infinity` disables it; pass an `AbortSignal` to `fetch` for per-call deadlines.
   * @default 300_000
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long one attempt waits for a replica's response headers before it counts as
   * failed (idempotent requests then fail over).
   * @default 60_000
   */
  readonly headersTimeoutMs?: number;
  /** TCP/TLS connect timeout per attempt (a connect failure always fails over). @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** How long an idle keep-alive connection to a replica is kept. @default 4_000 */
  readonly keepAliveTimeoutMs?: number;
  /** Attempts per request, the first included. @default 3 */
  readonly maxAttempts?: number;
  /**
   * Wait before retrying a replica that already failed this request (doubles each time).
   * Moving on to a replica that has not failed yet is immediate.
   * @default 25
   */
  readonly retryBackoffMs?: number;
  /**
   * Headers sent to replicas on every request (e.g. `authorization` for the model
   * server), fixed or per replica. They override client headers of the same name and are
   * never echoed back: response headers with these names or carrying these values are
   * dropped.
   */
  readonly replicaHeaders?: ReplicaHeaders;
  /**
   * When no replica is ready: how long clients should wait (`Retry-After`,
   * {@link NoReadyReplicaError.retryAfterMs}).
   * @default () => 1_000
   */
  readonly retryAfterMs?: () => number;
  /** `handler()` only: larger request headers get 431. @default 16_384 */
  readonly maxHeaderBytes?: number;
  /** `handler()` only: larger request bodies get 413. @default 16_777_216 (16 MiB) */
  readonly maxBodyBytes?: number;
  /**
   * `handler()` only: keep an incoming `X-Forwarded-Proto`/`X-Forwarded-Host` (set by a
   * proxy in front of this host) instead of replacing them with this hop's values.
   * @default false
   */
  readonly trustProxy?: boolean;
  readonly logger?: RouterLogger;
}

/** The settings `handler()` needs from its router. @internal */
export interface RouterCore {
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  readonly trustProxy: boolean;
  /** Records the request for the autoscaler. */
  record(): void;
  /** Whether new requests are accepted (not closing or closed). */
  accepting(): boolean;
  retryAfterMs(): number;
  /** Starts routing `request`; the sink hears about the outcome. */
  start(request: OutboundRequest, sink: ExchangeSink): Exchange;
}

type RouterState = 'open' | 'closing' | 'closed';

/** Methods RFC 9110 defines as idempotent: safe to send twice. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Routes requests to the ready replicas. The engine calls {@link Router.setReplicas}
 * whenever the ready set changes; hosts call {@link Router.fetch} or mount
 * {@link Router.handler}.
 *
 * Failover rule: a request is sent again (to another replica when there is one) only if
 * it provably never reached a replica (connect refused/reset/timed out before undici
 * wrote it), or if it is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any
 * request with an `Idempotency-Key` header) and failed before response headers — and in
 * both cases only if its body can be sent in full again. A POST that may have reached a
 * replica fails with {@link UpstreamError} (`retryable: false`) instead.
 *
 * @example
 * ```ts
 * const router = new Router({ replicaHeaders: { authorization: `Bearer ${token}` } });
 * router.setReplicas([{ id: 'r1', endpoint: 'http://10.0.0.5:8080', location: 'aws/us-east-1/us-east-1a', capacityType: 'spot' }]);
 * const response = await router.fetch('/v1/models');
 * http.createServer(router.handler()).listen(8080);
 * ```
 */
export class Router {
  readonly #clock: Clock;
  readonly #recorder: RequestRecorder | undefined;
  readonly #pools: ReplicaPools;
  readonly #settings: ExchangeSettings;
  readonly #core: RouterCore;
  readonly #requestTimeoutMs: number;
  // Exchanges in flight, oldest first. They all get the same timeout, so their deadlines
  // are in this order too and one timer (for the oldest) covers all of them.
  readonly #active = new Set<Exchange>();
  #deadlineTimer: TimerHandle | undefined;
  #state: RouterState = 'open';
  #closing: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  constructor(options: RouterOptions = {}) {
    this.#clock = options.clock ?? new SystemClock();
    this.#recorder = options.recorder;
    const retryAfterMs = options.retryAfterMs ?? (() => 1_000);
    if (typeof retryAfterMs !== 'function') {
      throw new InvalidConfigError(
        `Expected \`retryAfterMs\` to be a function, got ${describeValue(retryAfterMs)}`,
        { setting: 'retryAfterMs', value: retryAfterMs },
      );
    }
    this.#pools = new ReplicaPools({
      replicaHeaders: options.replicaHeaders,
      connectTimeoutMs: positive(options, 'connectTimeoutMs', 5_000),
      keepAliveTimeoutMs: positive(options, 'keepAliveTimeoutMs', 4_000),
    });
    const maxAttempts = positive(options, 'maxAttempts', 3);
    if (!Number.isInteger(maxAttempts)) {
      throw new InvalidConfigError(
        `Expected \`maxAttempts\` to be a positive integer, got ${describeValue(maxAttempts)}`,
        { setting: 'maxAttempts', value: maxAttempts },
      );
    }
    let balancer: LoadBalancer;
    try {
      balancer = createLoadBalancer(options.loadBalancing ?? 'least-load');
    } catch (error) {
      throw new InvalidConfigError((error as Error).message, {
        setting: 'loadBalancing',
        value: options.loadBalancing,
        cause: error,
      });
    }
    this.#requestTimeoutMs = positive(options, 'requestTimeoutMs', 300_000);
    this.#settings = {
      pools: this.#pools,
      balancer,
      clock: this.#clock,
      maxAttempts,
      headersTimeoutMs: positive(options, 'headersTimeoutMs', 60_000),
      retryBackoffMs: nonNegative(options, 'retryBackoffMs', 25),
      retryAfterMs: () => {
        const value = retryAfterMs();
        return Number.isFinite(value) && value >= 0 ? value : 1_000;
      },
      onSettled: (exchange) => this.#settled(exchange),
      logger: options.logger,
    };
    this.#core = {
      maxHeaderBytes: positive(options, 'maxHeaderBytes', 16_384),
      maxBodyBytes: positive(options, 'maxBodyBytes', 16 * 1024 * 1024),
      trustProxy: options.trustProxy ?? false,
      record: () => this.#record(),
      accepting: () => this.#state === 'open',
      retryAfterMs: this.#settings.retryAfterMs,
      start: (request, sink) => this.#start(request, sink),
    };
    // Hosts pass these around unbound (`service.fetch = router.fetch`).
    this.fetch = this.fetch.bind(this);
    this.handler = this.handler.bind(this);
  }

  /** The load balancer in use. */
  get loadBalancer(): LoadBalancer {
    return this.#settings.balancer;
  }

  /** The ready replicas requests are routed to, in the order last given. */
  get replicas(): readonly RoutableReplica[] {
    return this.#pools.replicas;
  }

  /** Requests being routed right now (until their response body ends). */
  get inFlight(): number {
    return this.#active.size;
  }

  /** Requests in flight on one replica, including one that already left the ready set. */
  inFlightOf(replicaId: string): number {
    return this.#pools.inFlightOf(replicaId);
  }

  /**
   * Replaces the whole ready set. Replicas not in `replicas` get no new request from now
   * on; their running requests finish and then their connections close. A replica that
   * stays (same id and endpoint) keeps its connections. Ignored once the router is closing.
   *
   * @throws {InvalidArgumentError} for a duplicate id or an endpoint that is not an
   * http(s) base URL (nothing changes then).
   */
  setReplicas(replicas: readonly RoutableReplica[]): void {
    if (this.#state !== 'open') return;
    if (!Array.isArray(replicas)) {
      throw new InvalidArgumentError(
        `Expected \`replicas\` to be an array, got ${describeValue(replicas)}`,
        { argument: 'replicas', value: replicas },
      );
    }
    this.#pools.set(replicas);
  }

  /**
   * Sends a request to a ready replica and resolves with its response as soon as the
   * response headers arrive; the body streams. Only the path and query of `input` are
   * used: the scheme, host and port never choose where the request goes.
   *
   * Rejects with {@link NoReadyReplicaError} (with `retryAfterMs`),
   * {@link UpstreamTimeoutError}, {@link UpstreamError}, {@link AbortedError} (the
   * signal fired) or {@link IllegalStateError} (router closed). The same errors end the
   * body stream if they happen after the headers.
   *
   * @example
   * ```ts
   * const response = await router.fetch('/v1/chat/completions', {
   *   method: 'POST',
   *   headers: { 'content-type': 'application/json' },
   *   body: JSON.stringify({ model: 'm', stream: true, messages }),
   *   signal: AbortSignal.timeout(30_000),
   * });
   * for await (const chunk of response.body!) process.stdout.write(chunk);
   * ```
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    this.#record();
    try {
      if (this.#state !== 'open') {
        throw new IllegalStateError('The router is closed', { state: this.#state });
      }
      const signal = init?.signal ?? (isRequest(input) ? input.signal : undefined);
      const request = outboundFromFetch(input, init);
      // Only bodies the platform must encode (Blob, FormData) take a detour through a promise.
      return request instanceof Promise
        ? request.then((ready) => this.#send(ready, signal))
        : this.#send(request, signal);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  #send(request: OutboundRequest, signal: AbortSignal | null | undefined): Promise<Response> {
    if (signal?.aborted) {
      return Promise.reject(new AbortedError('The request was aborted', { cause: signal.reason }));
    }
    return new Promise<Response>((resolve, reject) => {
      const sink = new FetchSink(request.method, resolve, reject);
      const exchange = this.#start(request, sink);
      sink.exchange = exchange;
      if (signal != null && !exchange.done) {
        const onAbort = () =>
          exchange.abort(new AbortedError('The request was aborted', { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
        sink.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
    });
  }

  /**
   * A reverse-proxy request handler for node:http, also usable as express middleware and,
   * through `reply.hijack()`, in fastify (see docs/routing.md). It answers every request
   * itself: 503 + `Retry-After` when no replica is ready, 502/504 when replicas fail
   * before responding, 413/431 over the size limits, 400 for a request target that is not
   * a path. `next` is accepted for express and never called.
   *
   * @example
   * ```ts
   * http.createServer(router.handler()).listen(8080);
   * app.use('/v1', router.handler()); // express: req.url is relative to the mount path
   * ```
   */
  handler(): ProxyHandler {
    return createProxyHandler(this.#core);
  }

  /**
   * Stops accepting requests (new ones are refused: `fetch` rejects with
   * {@link IllegalStateError}, the handler answers 503), waits for the ones in flight to
   * finish (response bodies included), then closes every connection. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = this.#state === 'open' ? 'closing' : this.#state;
    this.#closing = (async () => {
      if (this.#active.size > 0) {
        await new Promise<void>((resolve) => {
          this.#idle = resolve;
        });
      }
      this.#state = 'closed';
      this.#clearDeadlineTimer();
      await this.#pools.close();
    })();
    return this.#closing;
  }

  /**
   * Stops at once: every request in flight fails with {@link AbortedError} (handler
   * clients see their connection reset) and every connection is destroyed.
   */
  async destroy(): Promise<void> {
    this.#state = 'closed';
    const error = new AbortedError('The router was destroyed');
    for (const exchange of [...this.#active]) exchange.abort(error);
    this.#clearDeadlineTimer();
    await this.#pools.destroy(error);
    this.#idle?.();
  }

  #record(): void {
    const recorder = this.#recorder;
    if (recorder === undefined) return;
    try {
      recorder.record(this.#clock.now());
    } catch (error) {
      this.#settings.logger?.warn?.('router: the request recorder threw', {
        error: (error as Error)?.message,
      });
    }
  }

  #start(request: OutboundRequest, sink: ExchangeSink): Exchange {
    const timeout = this.#requestTimeoutMs;
    const timed = timeout !== Number.POSITIVE_INFINITY;
    const deadline = timed ? this.#clock.now() + timeout : Number.POSITIVE_INFINITY;
    const exchange = new Exchange(this.#settings, request, sink, deadline);
    this.#active.add(exchange);
    if (timed && this.#deadlineTimer === undefined) this.#armDeadlineTimer(timeout);
    exchange.start();
    return exchange;
  }

  // One timer for every request deadline instead of one per request. It stays armed while
  // requests come and go and is re-armed, when it fires, for the oldest one left.
  #armDeadlineTimer(delay: number): void {
    // Node timers take at most 2^31-1 ms; a longer deadline is checked again then.
    this.#deadlineTimer = this.#clock.setTimeout(
      () => {
        this.#deadlineTimer = undefined;
        this.#expire();
      },
      Math.min(delay, MAX_TIMER_DELAY_MS),
    );
  }

  #expire(): void {
    const now = this.#clock.now();
    for (const exchange of this.#active) {
      if (exchange.deadline > now) {
        this.#armDeadlineTimer(exchange.deadline - now);
        return;
      }
      exchange.timeOut(this.#requestTimeoutMs); // leaves #active through #settled
    }
  }

  #clearDeadlineTimer(): void {
    if (this.#deadlineTimer === undefined) return;
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
  }

  #settled(exchange: Exchange): void {
    this.#active.delete(exchange);
    if (this.#active.size === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}

/** Turns a `fetch` response from a replica into a WHATWG `Response` with a streamed body. */
class FetchSink implements ExchangeSink {
  exchange: Exchange | undefined;
  cleanup: (() => void) | undefined;
  readonly #method: string;
  readonly #resolve: (response: Response) => void;
  readonly #reject: (error: unknown) => void;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #resolved = false;

  constructor(
    method: string,
    resolve: (response: Response) => void,
    reject: (error: unknown) => void,
  ) {
    this.#method = method;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  onResponse(
    status: number,
    rawHeaders: readonly Buffer[],
    statusMessage: string,
    entry: ReplicaEntry,
  ): void {
    const list = clientResponseHeaderList(rawHeaders, entry.secrets).headers;
    const headers = new Headers();
    for (let index = 0; index < list.length; index += 2) {
      headers.append(list[index]!, list[index + 1]!);
    }
    let body: ReadableStream<Uint8Array> | null = null;
    if (this.#method !== 'HEAD' && !NULL_BODY_STATUSES.has(status)) {
      body = new ReadableStream<Uint8Array>(
        {
          start: (controller) => {
            this.#controller = controller;
          },
          pull: () => {
            this.exchange?.resume();
          },
          cancel: (reason) => {
            this.exchange?.abort(
              new AbortedError('The response body was cancelled', { cause: reason }),
            );
          },
        },
        new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
      );
    }
    let response: Response;
    try {
      response = new Response(body, { status, statusText: statusMessage, headers });
    } catch (error) {
      this.exchange?.abort(
        new UpstreamError(
          `Replica ${entry.replica.id} sent an unusable response (status ${status})`,
          {
            replicaId: entry.replica.id,
            cause: error,
          },
        ),
      );
      return;
    }
    this.#resolved = true;
    this.#resolve(response);
  }

  onData(chunk: Buffer): boolean {
    const controller = this.#controller;
    if (controller === undefined) return true; // HEAD or a null-body status: drop
    try {
      controller.enqueue(chunk);
    } catch {
      return true; // cancelled meanwhile; the exchange is being aborted
    }
    return (controller.desiredSize ?? 0) > 0;
  }

  onEnd(): void {
    this.cleanup?.();
    if (!this.#resolved) {
      this.#reject(new UpstreamError('The replica ended without a usable response'));
      return;
    }
    try {
      this.#controller?.close();
    } catch {
      // Already cancelled by the consumer.
    }
  }

  onError(error: Error): void {
    this.cleanup?.();
    if (!this.#resolved) {
      this.#reject(error);
      return;
    }
    try {
      this.#controller?.error(error);
    } catch {
      // Already closed or cancelled.
    }
  }
}

function isRequest(input: unknown): input is Request {
  return (
    typeof input === 'object' &&
    input !== null &&
    !(input instanceof URL) &&
    typeof (input as Request).url === 'string' &&
    typeof (input as Request).method === 'string' &&
    typeof (input as Request).headers === 'object'
  );
}

function outboundFromFetch(
  input: string | URL | Request,
  init: RequestInit | undefined,
): OutboundRequest | Promise<OutboundRequest> {
  const request = isRequest(input) ? input : undefined;
  const target = request !== undefined ? request.url : input;
  const path =
    typeof target === 'string' || target instanceof URL ? fetchPathOf(target) : undefined;
  if (path === undefined) {
    throw new InvalidArgumentError(
      `Expected \`input\` to be a path or an http(s) URL, got ${describeValue(String(target))}`,
      { argument: 'input', value: input },
    );
  }
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  let rawBody: unknown = init !== undefined && 'body' in init ? init.body : request?.body;
  if (rawBody === undefined) rawBody = null;
  const body = requestBodyOf(rawBody);
  if (body instanceof Promise) {
    return body.then((ready) => outboundWithBody(method, path, init, request, rawBody, ready));
  }
  return outboundWithBody(method, path, init, request, rawBody, body);
}

function outboundWithBody(
  method: string,
  path: string,
  init: RequestInit | undefined,
  request: Request | undefined,
  rawBody: unknown,
  { body, contentType }: EncodedBody,
): OutboundRequest {
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new InvalidArgumentError(`A ${method} request cannot have a body`, {
      argument: 'init.body',
      value: rawBody,
    });
  }
  const headers: string[] = [];
  let idempotent = IDEMPOTENT_METHODS.has(method);
  const given = init?.headers ?? request?.headers;
  let hasContentType = false;
  if (given !== undefined) {
    // `Headers` validates names and values and lower-cases names.
    const source = given instanceof Headers ? given : new Headers(given);
    const connection = source.get('connection');
    const listed = connection === null ? undefined : connectionTokens(connection);
    for (const [name, value] of source) {
      // undici sets the length of buffers itself and checks it for streams.
      if (HOP_BY_HOP_REQUEST_HEADERS.has(name) || name === 'content-length') continue;
      if (listed?.has(name)) continue;
      if (name === 'idempotency-key') idempotent = true;
      else if (name === 'content-type') hasContentType = true;
      headers.push(name, value);
    }
  }
  if (contentType !== undefined && !hasContentType) headers.push('content-type', contentType);
  return { method, path, headers, body, idempotent };
}

interface EncodedBody {
  readonly body: RequestBody | undefined;
  readonly contentType: string | undefined;
}

const NO_BODY: EncodedBody = { body: undefined, contentType: undefined };

function requestBodyOf(body: unknown): EncodedBody | Promise<EncodedBody> {
  if (body === null) return NO_BODY;
  if (typeof body === 'string') {
    return {
      body: RequestBody.fromBuffer(Buffer.from(body)),
      contentType: 'text/plain;charset=UTF-8',
    };
  }
  if (body instanceof ArrayBuffer) {
    return { body: RequestBody.fromBuffer(Buffer.from(body)), contentType: undefined };
  }
  if (ArrayBuffer.isView(body)) {
    const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return { body: RequestBody.fromBuffer(view), contentType: undefined };
  }
  if (body instanceof URLSearchParams) {
    return {
      body: RequestBody.fromBuffer(Buffer.from(body.toString())),
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
    };
  }
  if (body instanceof Blob || body instanceof FormData) {
    // Already in memory: let the platform encode it (multipart boundary, blob type).
    const encoded = new Response(body);
    const contentType = encoded.headers.get('content-type') ?? undefined;
    return encoded.arrayBuffer().then((buffer) => ({
      body: RequestBody.fromBuffer(Buffer.from(buffer)),
      contentType,
    }));
  }
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    return {
      body: RequestBody.fromStream(body as AsyncIterable<Uint8Array>),
      contentType: undefined,
    };
  }
  throw new InvalidArgumentError(`Unsupported request body ${describeValue(body)}`, {
    argument: 'init.body',
    value: body,
  });
}

function positive(options: RouterOptions, setting: keyof RouterOptions, fallback: number): number {
  const value = options[setting] ?? fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new InvalidConfigError(
      `Expected \`${setting}\` to be a positive number, got ${describeValue(value)}`,
      { setting, value },
    );
  }
  return value;
}

function nonNegative(
  options: RouterOptions,
  setting: keyof RouterOptions,
  fallback: number,
): number {
  const value = options[setting] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidConfigError(
      `Expected \`${setting}\` to be a number >= 0, got ${describeValue(value)}`,
      { setting, value },
    );
  }
  return value;
}
