/**
 * What `@google-cloud/compute` (over google-gax's REST transport) needs from an auth
 * client: request headers and an authenticated `fetch`. A google-auth-library client
 * (`JWT`, `UserRefreshClient`, `await new GoogleAuth(...).getClient()`) fits, and so does
 * {@link createStaticAuthClient}.
 */
export interface GcpAuthClient {
  // Parameter types are `never` so that any client's own signature fits; google-gax is
  // the only caller.
  getRequestHeaders(url?: never): Promise<unknown>;
  fetch(input: never, init?: never): Promise<unknown>;
}

export interface StaticAuthClientOptions {
  /**
   * Bearer token sent as `Authorization`. Use a real OAuth access token you manage
   * yourself, or any string for an emulator.
   * @default 'spothedge-static-token'
   */
  readonly accessToken?: string | undefined;
  /** The `fetch` to send requests with. @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch | undefined;
}

interface FallbackRequestInit {
  readonly headers?: ConstructorParameters<typeof Headers>[0];
  readonly body?: RequestInit['body'];
  readonly method?: string;
  readonly signal?: AbortSignal | null;
}

/**
 * An auth client that sends a fixed bearer token and never looks for credentials (no
 * environment variables, no key files, no metadata server). For emulators, tests, and
 * tokens that the host obtains and refreshes itself.
 *
 * @example
 * ```ts
 * const authClient = createStaticAuthClient({ accessToken: await myTokenSource() });
 * ```
 */
export function createStaticAuthClient(options: StaticAuthClientOptions = {}): GcpAuthClient {
  const accessToken = options.accessToken ?? 'spothedge-static-token';
  const send = options.fetch ?? globalThis.fetch;
  const authorization = `Bearer ${accessToken}`;
  const client = {
    universeDomain: undefined,
    getRequestHeaders(): Promise<Headers> {
      return Promise.resolve(new Headers({ authorization }));
    },
    // google-gax's REST transport calls `auth.fetch(url, init)` and reads `ok`, `status`
    // and `arrayBuffer()`: a WHATWG Response is exactly that.
    fetch(url: string | URL, init: FallbackRequestInit = {}): Promise<Response> {
      const headers = new Headers(init.headers);
      headers.set('authorization', authorization);
      return send(url, {
        method: init.method ?? 'GET',
        headers,
        body: init.body ?? null,
        signal: init.signal ?? null,
      });
    },
  };
  return client as GcpAuthClient;
}
