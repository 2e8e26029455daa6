/**
 * `Router.handler()`: a reverse proxy for node:http `(req, res)` (express and fastify
 * hand over the same objects). Streams both ways with backpressure, passes SSE/chunked
 * responses through chunk by chunk, strips hop-by-hop headers, sets `X-Forwarded-*`,
 * aborts the upstream request when the client goes away, and turns failures into plain
 * status codes without leaking replica addresses or credentials.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  AbortedError,
  InvalidArgumentError,
  NoReadyReplicaError,
  UpstreamTimeoutError,
} from '../errors.js';
import type { Exchange, ExchangeSink, OutboundRequest } from './exchange.js';
import {
  HOP_BY_HOP_REQUEST_HEADERS,
  clientResponseHeaderList,
  connectionTokens,
  rawHeaderBytes,
} from './http-headers.js';
import type { ReplicaEntry } from './replica-pools.js';
import { BodyTooLargeError, RequestBody } from './request-body.js';
import { upstreamPathOf } from './request-target.js';
import { IDEMPOTENT_METHODS, type RouterCore } from './router.js';

/** A node:http request listener that also fits express middleware. */
export type ProxyHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

export function createProxyHandler(core: RouterCore): ProxyHandler {
  return (req, res) => {
    core.record();
    if (!core.accepting()) {
      sendError(res, 503, 'NO_READY_REPLICA', 'The service is shutting down', {
        'retry-after': retryAfterSeconds(core.retryAfterMs()),
      });
      return;
    }
    if (rawHeaderBytes(req.rawHeaders) > core.maxHeaderBytes) {
      sendError(res, 431, 'HEADERS_TOO_LARGE', 'Request header fields too large', {
        connection: 'close',
      });
      return;
    }
    const method = req.method ?? 'GET';
    const path = method === 'CONNECT' ? undefined : upstreamPathOf(req.url ?? '');
    if (path === undefined) {
      sendError(res, 400, 'BAD_REQUEST', 'The request target must be a path');
      return;
    }
    const contentLength = req.headers['content-length'];
    const declaredLength = contentLength === undefined ? undefined : Number(contentLength);
    if (declaredLength !== undefined && declaredLength > core.maxBodyBytes) {
      sendError(res, 413, 'BODY_TOO_LARGE', 'Request body too large', { connection: 'close' });
      return;
    }
    const request = outboundFromIncoming(req, method, path, declaredLength, core);
    const sink = new ResponseSink(res);
    const exchange = core.start(request, sink);
    if (exchange.done) return;
    sink.exchange = exchange;
    // `close` before the response finished means the client went away: stop the replica.
    // (`close` fires once; `on` spares the wrapper `once` allocates per request.)
    res.on('close', () => {
      if (!res.writableFinished) {
        exchange.abort(new AbortedError('The client closed the connection'));
      }
    });
  };
}

function outboundFromIncoming(
  req: IncomingMessage,
  method: string,
  path: string,
  declaredLength: number | undefined,
  core: RouterCore,
): OutboundRequest {
  const raw = req.rawHeaders;
  const connection = req.headers.connection;
  const listed =
    connection === undefined || connection === 'keep-alive' || connection === 'close'
      ? undefined
      : connectionTokens(connection);
  const headers: string[] = [];
  let idempotent = IDEMPOTENT_METHODS.has(method);
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  // Set by a body parser (express.json() and friends) that already read the stream.
  const parsed = req.readableEnded ? (req as { body?: unknown }).body : undefined;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!.toLowerCase();
    const value = raw[index + 1]!;
    if (HOP_BY_HOP_REQUEST_HEADERS.has(name) || listed?.has(name)) continue;
    switch (name) {
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        forwardedProto ??= value;
        continue;
      case 'x-forwarded-host':
        forwardedHost ??= value;
        continue;
      case 'content-length':
        if (parsed !== undefined) continue;
        break;
      case 'idempotency-key':
        idempotent = true;
        break;
    }
    headers.push(name, value);
  }
  const client = req.socket.remoteAddress;
  if (client !== undefined) {
    forwardedFor = forwardedFor === undefined ? client : `${forwardedFor}, ${client}`;
  }
  if (forwardedFor !== undefined) headers.push('x-forwarded-for', forwardedFor);
  const proto = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
  headers.push(
    'x-forwarded-proto',
    core.trustProxy && forwardedProto !== undefined ? forwardedProto : proto,
  );
  const host = core.trustProxy && forwardedHost !== undefined ? forwardedHost : req.headers.host;
  if (host !== undefined) headers.push('x-forwarded-host', host);

  let body: RequestBody | undefined;
  if (parsed !== undefined) {
    body = bodyFromParsed(parsed, headers);
  } else if (
    !req.readableEnded &&
    (req.headers['transfer-encoding'] !== undefined ||
      (declaredLength !== undefined && declaredLength > 0))
  ) {
    body = RequestBody.fromStream(req, core.maxBodyBytes);
  }
  return { method, path, headers, body, idempotent };
}

// A body parser consumed the stream: send what it parsed, re-encoded.
function bodyFromParsed(parsed: unknown, headers: string[]): RequestBody | undefined {
  if (Buffer.isBuffer(parsed)) return RequestBody.fromBuffer(parsed);
  if (typeof parsed === 'string') return RequestBody.fromBuffer(Buffer.from(parsed));
  if (typeof parsed === 'object' && parsed !== null) {
    const at = headers.indexOf('content-type');
    const type = at >= 0 && at % 2 === 0 ? headers[at + 1]! : '';
    if (type.includes('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(parsed as Record<string, string>).toString();
      return RequestBody.fromBuffer(Buffer.from(form));
    }
    if (Object.keys(parsed).length === 0 && at < 0) return undefined; // nothing was sent
    if (at < 0) headers.push('content-type', 'application/json');
    return RequestBody.fromBuffer(Buffer.from(JSON.stringify(parsed)));
  }
  return undefined;
}

class ResponseSink implements ExchangeSink {
  exchange: Exchange | undefined;
  readonly #res: ServerResponse;
  #waitingForDrain = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  onResponse(
    status: number,
    rawHeaders: readonly Buffer[],
    statusMessage: string,
    entry: ReplicaEntry,
  ): void {
    const res = this.#res;
    const { headers, hasContentLength } = clientResponseHeaderList(rawHeaders, entry.secrets);
    try {
      // A flat `[name, value, ...]` list: node writes it as is, no header object.
      const list = hasRepeatedName(headers) ? collapseRepeated(headers) : headers;
      if (statusMessage === '') res.writeHead(status, list);
      else res.writeHead(status, statusMessage, list);
    } catch (error) {
      // A header node refuses to send (invalid characters): the response is unusable.
      this.exchange?.abort(error as Error);
      return;
    }
    // Streams (SSE, chunked) get their headers now, before the first token.
    if (!hasContentLength) res.flushHeaders();
  }

  onData(chunk: Buffer): boolean {
    const res = this.#res;
    if (res.destroyed) return true;
    if (res.write(chunk)) return true;
    if (!this.#waitingForDrain) {
      this.#waitingForDrain = true;
      res.once('drain', () => {
        this.#waitingForDrain = false;
        this.exchange?.resume();
      });
    }
    return false;
  }

  onEnd(): void {
    this.#res.end();
  }

  onError(error: Error): void {
    const res = this.#res;
    // `headersSent` turns true at `writeHead`; before it (even after the replica answered,
    // if its headers were unusable) a status code can still be sent.
    if (res.headersSent) {
      // Too late for a status code: cut the connection so the client sees a broken body.
      res.destroy();
      return;
    }
    if (res.destroyed || AbortedError.isInstance(error)) {
      if (!res.destroyed) res.destroy();
      return;
    }
    if (NoReadyReplicaError.isInstance(error)) {
      sendError(res, 503, error.code, 'No replica is ready', {
        'retry-after': retryAfterSeconds(error.retryAfterMs),
      });
    } else if (UpstreamTimeoutError.isInstance(error)) {
      sendError(res, 504, error.code, 'The replica did not answer in time');
    } else if (error instanceof BodyTooLargeError) {
      sendError(res, 413, 'BODY_TOO_LARGE', 'Request body too large', { connection: 'close' });
    } else if (InvalidArgumentError.isInstance(error)) {
      sendError(res, 400, error.code, 'The request cannot be forwarded');
    } else {
      sendError(res, 502, 'UPSTREAM_FAILURE', 'The replica failed to answer');
    }
  }
}

// When the host already set headers (express sets `x-powered-by`), node applies a list
// through `setHeader`, where a repeated name (`set-cookie`) would replace the one before.
function hasRepeatedName(headers: readonly string[]): boolean {
  for (let index = 2; index < headers.length; index += 2) {
    for (let before = 0; before < index; before += 2) {
      if (headers[index] === headers[before]) return true;
    }
  }
  return false;
}

function collapseRepeated(headers: readonly string[]): (string | string[])[] {
  const values = new Map<string, string | string[]>();
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index]!;
    const value = headers[index + 1]!;
    const seen = values.get(name);
    if (seen === undefined) values.set(name, value);
    else if (typeof seen === 'string') values.set(name, [seen, value]);
    else seen.push(value);
  }
  return [...values].flat(1);
}

function retryAfterSeconds(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
