/**
 * Header hygiene shared by `Router.fetch` and `Router.handler()`: hop-by-hop headers
 * (RFC 9110 §7.6.1) never cross the router, the client cannot choose the upstream `Host`,
 * and the host's replica headers (credentials) are sent to replicas only, never echoed
 * back to clients.
 */
import { loadUndici } from './load-undici.js';

// Lower-cases a raw header name; known names map to interned strings without copying.
let headerNameToString: ((name: string | Buffer) => string) | undefined;

/**
 * Headers that describe one connection, not the message, plus those undici refuses
 * (`expect`, `transfer-encoding`) and `host`, which the router sets from the replica
 * endpoint. Lower-case.
 */
export const HOP_BY_HOP_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
  'host',
]);

/** Hop-by-hop headers never copied from a replica's response. Lower-case. */
export const HOP_BY_HOP_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** The header names a `Connection` header value lists (they are hop-by-hop too). */
export function connectionTokens(value: string | readonly string[] | undefined): Set<string> {
  const tokens = new Set<string>();
  if (value === undefined) return tokens;
  for (const part of typeof value === 'string' ? [value] : value) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') tokens.add(name);
    }
  }
  return tokens;
}

/** What a replica's response must not leak: its address and the replica headers. */
export interface SecretHeaders {
  /** Lower-case names of the host's replica headers. */
  readonly names: ReadonlySet<string>;
  /** Their values (credentials); a response header whose value contains one is dropped. */
  readonly values: readonly string[];
  /**
   * The replica endpoint (origin + base path, no trailing slash): a `Location` under it
   * becomes a path the client can follow through the router.
   */
  readonly endpoint?: string;
}

/** A replica's response headers as the client may see them. */
export interface ClientResponseHeaders {
  /** Flat `[name, value, ...]` list, names lower-case, repeated names kept (`set-cookie`). */
  readonly headers: string[];
  /** Whether the list has a `content-length` (else the body is streamed chunked). */
  readonly hasContentLength: boolean;
}

/**
 * Filters a replica's raw response headers for the client: drops hop-by-hop headers,
 * headers named by `Connection`, and anything that names or carries a replica header.
 * Takes undici's raw list (`[name, value, ...]` as Buffers) and decodes it as latin1, so
 * header bytes pass through unchanged; node writes header strings as latin1 again.
 */
export function clientResponseHeaderList(
  raw: readonly (Buffer | string)[],
  secrets: SecretHeaders,
): ClientResponseHeaders {
  const headers: string[] = [];
  let listed: Set<string> | undefined;
  let hasContentLength = false;
  const checkValues = secrets.values.length > 0;
  const nameOf = (headerNameToString ??= loadUndici().util.headerNameToString);
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = nameOf(raw[index]!);
    const value = latin1(raw[index + 1]!);
    if (name === 'connection') {
      // `keep-alive` and `close` (nearly every response) list no other header.
      if (value !== 'keep-alive' && value !== 'close') {
        for (const token of connectionTokens(value)) (listed ??= new Set()).add(token);
      }
      continue;
    }
    if (HOP_BY_HOP_RESPONSE_HEADERS.has(name) || secrets.names.has(name)) continue;
    if (checkValues && carriesSecret(value, secrets.values)) continue;
    if (name === 'content-length') hasContentLength = true;
    headers.push(
      name,
      name === 'location' && secrets.endpoint !== undefined
        ? relativeLocation(value, secrets.endpoint)
        : value,
    );
  }
  if (listed === undefined) return { headers, hasContentLength };
  // Rare: the Connection header named other headers; they may have come before it.
  const kept: string[] = [];
  hasContentLength = false;
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index]!;
    if (listed.has(name)) continue;
    if (name === 'content-length') hasContentLength = true;
    kept.push(name, headers[index + 1]!);
  }
  return { headers: kept, hasContentLength };
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

// `http://10.0.0.5:8080/api/next?x` → `/next?x` for an endpoint `http://10.0.0.5:8080/api`.
function relativeLocation(location: string, endpoint: string): string {
  if (!location.startsWith(endpoint)) return location;
  const rest = location.slice(endpoint.length);
  if (rest === '') return '/';
  if (rest.startsWith('/')) return rest;
  if (rest.startsWith('?') || rest.startsWith('#')) return `/${rest}`;
  return location; // `http://host:80801` is another port, not under the endpoint
}

function carriesSecret(value: string, secrets: readonly string[]): boolean {
  for (const secret of secrets) if (value.includes(secret)) return true;
  return false;
}

/**
 * Total size of a raw header list as it appeared on the wire (name: value CRLF). node
 * decodes header bytes as latin1, one character per byte, so `length` is the byte count.
 */
export function rawHeaderBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (const part of rawHeaders) bytes += part.length;
  return bytes + rawHeaders.length * 2;
}
