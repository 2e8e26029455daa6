/**
 * Turns whatever a client sent as the request target into the path and query to forward,
 * and nothing else: the scheme, host and port of an absolute-form URL are ignored, dot
 * segments (also percent-encoded or with backslashes) are resolved so a request can
 * never climb above the replica endpoint's base path. The upstream URL is always the
 * registered replica endpoint plus this path.
 */

// Placeholder origin for parsing origin-form targets; never contacted.
const PARSE_ORIGIN = 'http://router.invalid';

// An origin-form target made only of these characters (no `\\`, `#`, spaces, quotes in
// the query, ...) and without a dot segment or an encoded dot comes out of URL parsing
// unchanged: most API paths, checked without building a URL (a property test holds this
// against the URL parser).
const PLAIN_TARGET = /^\/[\w\-.~!$&'()*+,;=:@/%]*(?:\?[\w\-.~!$&()*+,;=:@/?%]+)?$/;
const DOT_SEGMENT = /\/\.{1,2}(?:[/?]|$)|%2e/i;

/**
 * The normalized `path?query` of a request target (`/a/b?x=1`), or `undefined` when the
 * target is not an origin-form or absolute-form HTTP(S) target (e.g. `*`, `host:443`).
 *
 * @example
 * ```ts
 * upstreamPathOf('http://evil.example/v1/models?x=1'); // '/v1/models?x=1'
 * upstreamPathOf('/v1/../../admin');                   // '/admin'
 * ```
 */
export function upstreamPathOf(target: string): string | undefined {
  if (PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)) return target;
  let url: URL;
  try {
    if (target.startsWith('/')) {
      // Prefixing keeps `//host/path` a path instead of a scheme-relative URL.
      url = new URL(PARSE_ORIGIN + target);
    } else if (/^https?:\/\//i.test(target)) {
      url = new URL(target);
    } else {
      return undefined;
    }
  } catch {
    return undefined;
  }
  return url.pathname + url.search;
}

/**
 * The normalized `path?query` of a `fetch` input: an absolute URL (its origin ignored), or a
 * path, with or without a leading slash.
 */
export function fetchPathOf(input: string | URL): string | undefined {
  if (typeof input !== 'string') {
    return input.protocol === 'http:' || input.protocol === 'https:'
      ? input.pathname + input.search
      : undefined;
  }
  if (input.startsWith('/') || /^https?:\/\//i.test(input)) return upstreamPathOf(input);
  if (/^[a-z][a-z0-9+.-]*:/i.test(input)) return undefined; // another scheme
  return upstreamPathOf(`/${input}`);
}

/** Joins an endpoint's base path (no trailing slash, may be empty) and a normalized path. */
export function joinBasePath(basePath: string, path: string): string {
  return basePath === '' ? path : basePath + path;
}
