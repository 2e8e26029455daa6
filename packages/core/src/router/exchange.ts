/**
 * One routed request, from picking a replica to the last byte of the response, including
 * failover. Written on undici's low-level `dispatch` handler (not `request()`/`stream()`):
 * no Readable, no promise and no header object per request, and the safety rule needs to
 * know whether the request was handed to a connected socket — `onConnect` fires right
 * before undici writes it, so an error before that point provably never reached a replica.
 *
 * The handler uses undici 7's native callbacks (`onConnect`/`onHeaders`/`onData`/
 * `onComplete`/`onError`). undici 7 runs every handler through them and wraps a
 * controller-API handler (`onRequestStart`, ...) in an adapter that also parses the raw
 * headers into an object; skipping it takes about 5-8% off the proxy's CPU per request.
 * undici 8 (Node >= 22.19) removes these callbacks: moving to it means moving `Attempt` to
 * the controller API, which is native there.
 */
import type { Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../clock.js';
import {
  InvalidArgumentError,
  NoReadyReplicaError,
  UpstreamError,
  UpstreamTimeoutError,
} from '../errors.js';
import type { LoadBalancer } from './load-balancer.js';
import type { ReplicaEntry, ReplicaPools } from './replica-pools.js';
import { BodyTooLargeError, type RequestBody } from './request-body.js';
import { joinBasePath } from './request-target.js';
import type { RouterLogger } from './router.js';

/** A request ready to forward: everything taken from the client is already filtered. */
export interface OutboundRequest {
  readonly method: string;
  /** Normalized `path?query`, appended to the replica endpoint's base path. */
  readonly path: string;
  /** Flat `[name, value, ...]` list; replica headers are added per attempt. */
  readonly headers: readonly string[];
  readonly body: RequestBody | undefined;
  /** Whether the request may be sent twice (idempotent method or `Idempotency-Key`). */
  readonly idempotent: boolean;
}

/** Where an exchange delivers the response. Exactly one of `onEnd`/`onError` is called. */
export interface ExchangeSink {
  /** `rawHeaders`: undici's `[name, value, ...]` list, unfiltered (see `clientResponseHeaderList`). */
  onResponse(
    status: number,
    rawHeaders: readonly Buffer[],
    statusMessage: string,
    entry: ReplicaEntry,
  ): void;
  /** Returns `false` to pause the replica until {@link Exchange.resume}. */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  /** `responded`: whether `onResponse` was called (the status is already out). */
  onError(error: Error, responded: boolean): void;
}

export interface ExchangeSettings {
  readonly pools: ReplicaPools;
  readonly balancer: LoadBalancer;
  readonly clock: Clock;
  readonly maxAttempts: number;
  readonly headersTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly retryAfterMs: () => number;
  readonly onSettled: (exchange: Exchange) => void;
  readonly logger: RouterLogger | undefined;
}

export class Exchange {
  /**
   * Clock time at which the whole exchange times out (`Infinity`: never). The router
   * enforces it with one timer for all exchanges, not one per request.
   */
  readonly deadline: number;
  readonly #settings: ExchangeSettings;
  readonly #request: OutboundRequest;
  readonly #sink: ExchangeSink;
  #attempt: Attempt | undefined;
  #attempts = 0;
  #failed: Set<ReplicaEntry> | undefined;
  #lastError: Error | undefined;
  #responded = false;
  #done = false;
  #backoff: TimerHandle | undefined;

  constructor(
    settings: ExchangeSettings,
    request: OutboundRequest,
    sink: ExchangeSink,
    deadline: number,
  ) {
    this.#settings = settings;
    this.#request = request;
    this.#sink = sink;
    this.deadline = deadline;
  }

  get done(): boolean {
    return this.#done;
  }

  start(): void {
    this.#dispatch();
  }

  /** The deadline passed: ends the exchange with {@link UpstreamTimeoutError}. */
  timeOut(timeoutMs: number): void {
    this.abort(
      new UpstreamTimeoutError(`No complete response within requestTimeoutMs (${timeoutMs} ms)`, {
        replicaId: this.#attempt?.entry.replica.id,
      }),
    );
  }

  /** Ends the exchange now with `error` (client gone, caller aborted, deadline). */
  abort(error: Error): void {
    if (this.#done) return;
    // Finish first: undici reports the abort back synchronously, and that report must not
    // count as an attempt failure.
    this.#finish();
    this.#attempt?.abort(error);
    this.#sink.onError(error, this.#responded);
  }

  /** Resumes reading from the replica after the sink asked for a pause. */
  resume(): void {
    this.#attempt?.resume();
  }

  #dispatch(): void {
    const settings = this.#settings;
    let entry: ReplicaEntry | undefined;
    try {
      entry = settings.pools.pick(settings.balancer, this.#failed, settings.clock);
    } catch (error) {
      // A custom balancer threw: the host's bug, reported as is.
      this.#fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (entry === undefined) {
      const retryAfterMs = settings.retryAfterMs();
      this.#fail(
        new NoReadyReplicaError(`No replica is ready; retry in ${retryAfterMs} ms`, {
          retryAfterMs,
          cause: this.#lastError,
        }),
      );
      return;
    }
    this.#attempts++;
    entry.inFlight++;
    const attempt = new Attempt(this, entry);
    this.#attempt = attempt;
    const request = this.#request;
    const headers =
      entry.headers.length === 0 ? request.headers : withReplicaHeaders(request, entry);
    try {
      entry.pool.dispatch(
        {
          path: joinBasePath(entry.basePath, request.path),
          method: request.method,
          headers: headers as string[],
          body: (request.body?.forAttempt() ?? null) as Dispatcher.DispatchOptions['body'],
          headersTimeout: settings.headersTimeoutMs,
          bodyTimeout: 0,
        },
        attempt,
      );
    } catch (error) {
      attempt.onError(error as Error);
    }
  }

  /** @internal */
  release(entry: ReplicaEntry): void {
    this.#settings.pools.release(entry);
  }

  /** @internal */
  isCurrent(attempt: Attempt): boolean {
    return !this.#done && this.#attempt === attempt;
  }

  /** @internal */
  responseStarted(
    attempt: Attempt,
    status: number,
    headers: readonly Buffer[],
    statusMessage: string,
  ): void {
    this.#responded = true;
    if (attempt.entry.connectFailures > 0) this.#settings.pools.healthy(attempt.entry);
    this.#sink.onResponse(status, headers, statusMessage, attempt.entry);
  }

  /** @internal */
  data(chunk: Buffer): boolean {
    return this.#sink.onData(chunk);
  }

  /** @internal */
  ended(): void {
    this.#finish();
    this.#sink.onEnd();
  }

  /** @internal */
  attemptFailed(attempt: Attempt, error: Error): void {
    const entry = attempt.entry;
    const replicaId = entry.replica.id;
    if (this.#responded) {
      this.#fail(
        new UpstreamError(`Replica ${replicaId} failed while sending the response body`, {
          replicaId,
          cause: error,
        }),
      );
      return;
    }
    if (error instanceof BodyTooLargeError) {
      this.#fail(error);
      return;
    }
    const code = (error as { code?: unknown }).code;
    if (
      code === 'UND_ERR_INVALID_ARG' ||
      code === 'UND_ERR_NOT_SUPPORTED' ||
      code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'
    ) {
      this.#fail(
        new InvalidArgumentError(`The request cannot be forwarded: ${error.message}`, {
          argument: 'request',
          value: this.#request.method,
          cause: error,
        }),
      );
      return;
    }
    const request = this.#request;
    // The only two cases where a second send is safe: the request never reached a socket,
    // or it is idempotent; and the whole body is still available.
    const safe =
      (!attempt.sent || request.idempotent) &&
      (request.body === undefined || request.body.replayable);
    if (!attempt.sent && code !== 'UND_ERR_CLOSED' && code !== 'UND_ERR_DESTROYED') {
      this.#settings.pools.quarantine(entry, this.#settings.clock.now());
    }
    const typed = typedUpstreamError(error, replicaId, attempt.sent, safe);
    this.#lastError = typed;
    if (!safe || this.#attempts >= this.#settings.maxAttempts) {
      this.#fail(typed);
      return;
    }
    (this.#failed ??= new Set()).add(entry);
    this.#settings.logger?.debug?.('router: retrying on another replica', {
      replicaId,
      attempt: this.#attempts,
      sent: attempt.sent,
      error: error.message,
    });
    // Moving to a replica that has not failed yet needs no wait; going back to one that
    // did (every replica failed once) waits, doubling each time.
    if (this.#settings.pools.hasUntried(this.#failed)) {
      this.#dispatch();
      return;
    }
    const delay =
      this.#settings.retryBackoffMs * 2 ** Math.max(0, this.#attempts - this.#failed.size);
    this.#backoff = this.#settings.clock.setTimeout(() => {
      this.#backoff = undefined;
      if (!this.#done) this.#dispatch();
    }, delay);
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#finish();
    this.#sink.onError(error, this.#responded);
  }

  #finish(): void {
    this.#done = true;
    if (this.#backoff !== undefined) {
      this.#settings.clock.clearTimeout(this.#backoff);
      this.#backoff = undefined;
    }
    this.#settings.onSettled(this);
  }
}

// The client may not set (or spoof) a header the host configured for replicas.
function withReplicaHeaders(request: OutboundRequest, entry: ReplicaEntry): string[] {
  const names = entry.secrets.names;
  const source = request.headers;
  const headers: string[] = [];
  for (let index = 0; index < source.length; index += 2) {
    if (!names.has(source[index]!.toLowerCase())) headers.push(source[index]!, source[index + 1]!);
  }
  headers.push(...entry.headers);
  return headers;
}

function typedUpstreamError(
  error: Error,
  replicaId: string,
  sent: boolean,
  retryable: boolean,
): Error {
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new UpstreamTimeoutError(`Replica ${replicaId} sent no response headers in time`, {
      replicaId,
      cause: error,
      retryable,
    });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamTimeoutError(`Connecting to replica ${replicaId} timed out`, {
      replicaId,
      cause: error,
      retryable,
    });
  }
  const when = sent
    ? 'after the request was sent (it may have reached the replica)'
    : 'before the request was sent';
  return new UpstreamError(`Request to replica ${replicaId} failed ${when}: ${error.message}`, {
    replicaId,
    cause: error,
    retryable,
  });
}

/** undici's handler for one attempt on one replica (undici 7's native callbacks). */
class Attempt implements Dispatcher.DispatchHandler {
  readonly entry: ReplicaEntry;
  readonly #exchange: Exchange;
  /** Whether undici handed the request to a connected socket (it may have reached the replica). */
  sent = false;
  #abort: ((error?: Error) => void) | undefined;
  // undici's `resume` belongs to the connection's parser, which serves the next request
  // once this one ends: only call it while this attempt is paused.
  #resume: (() => void) | undefined;
  #paused = false;
  #released = false;

  constructor(exchange: Exchange, entry: ReplicaEntry) {
    this.#exchange = exchange;
    this.entry = entry;
  }

  /** Cancels the attempt; a no-op before undici connected it (see `onConnect`) or after it ended. */
  abort(error: Error): void {
    if (!this.#released) this.#abort?.(error);
  }

  resume(): void {
    if (!this.#paused || this.#released) return;
    this.#paused = false;
    this.#resume?.();
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (!this.#exchange.isCurrent(this)) {
      // The caller gave up while we waited for a connection: never write the request.
      abort(new Error('Request abandoned before it was sent'));
      return;
    }
    this.sent = true;
  }

  onHeaders(
    statusCode: number,
    rawHeaders: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean {
    if (statusCode < 200) return true; // 1xx informational: the final response follows
    this.#resume = resume;
    if (!this.#exchange.isCurrent(this)) {
      this.#abort?.(new Error('Request abandoned'));
      return false;
    }
    this.#exchange.responseStarted(this, statusCode, rawHeaders, statusText);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.#exchange.isCurrent(this)) return true;
    if (this.#exchange.data(chunk)) return true;
    this.#paused = true;
    return false;
  }

  onComplete(): void {
    this.#release();
    if (this.#exchange.isCurrent(this)) this.#exchange.ended();
  }

  onError(error: Error): void {
    this.#release();
    if (this.#exchange.isCurrent(this)) this.#exchange.attemptFailed(this, error);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#exchange.release(this.entry);
  }
}
