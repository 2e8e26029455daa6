import { AbortedError, ProviderError, type CapacityType } from '@spothedge/core';
import type {
  ApiErrorBody,
  ApiInstance,
  CreateInstanceBody,
  ListInstancesBody,
  PricesBody,
} from './gpu-cloud-api.js';
import { mapGpuCloudError } from './map-gpu-cloud-error.js';

/** Options of {@link GpuCloudClient}. */
export interface GpuCloudClientOptions {
  /** API base URL, e.g. `https://api.gpu-cloud.example`. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** The `fetch` to use (tests and proxies inject their own). */
  readonly fetch: typeof globalThis.fetch;
  /** Time budget of one HTTP call (ms). */
  readonly requestTimeoutMs: number;
  readonly now: () => number;
}

/** Per-call options: what the errors should name, and the caller's signal. */
export interface GpuCloudCallOptions {
  readonly abortSignal?: AbortSignal | undefined;
  readonly location?: string | undefined;
  readonly capacityType?: CapacityType | undefined;
}

/**
 * A thin typed client over the gpu-cloud REST API: one method per call, every failure
 * already a typed SpotHedge error. The provider holds the contract logic; this holds HTTP.
 */
export class GpuCloudClient {
  readonly #options: GpuCloudClientOptions;

  constructor(options: GpuCloudClientOptions) {
    this.#options = options;
  }

  createInstance(
    body: CreateInstanceBody,
    idempotencyKey: string,
    options: GpuCloudCallOptions = {},
  ): Promise<ApiInstance> {
    return this.#request<ApiInstance>('POST', '/v1/instances', options, {
      body,
      headers: { 'idempotency-key': idempotencyKey },
    });
  }

  listInstances(
    labels: Readonly<Record<string, string>>,
    pageToken: string | undefined,
    options: GpuCloudCallOptions = {},
  ): Promise<ListInstancesBody> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(labels)) query.append('label', `${key}:${value}`);
    if (pageToken !== undefined) query.set('page_token', pageToken);
    return this.#request<ListInstancesBody>('GET', `/v1/instances?${query}`, options);
  }

  /** Resolves `undefined` when the instance does not exist. */
  getInstance(id: string, options: GpuCloudCallOptions = {}): Promise<ApiInstance | undefined> {
    return this.#request<ApiInstance | undefined>(
      'GET',
      `/v1/instances/${encodeURIComponent(id)}`,
      options,
      { notFound: 'undefined' },
    );
  }

  /** Resolves `false` when the instance does not exist. */
  async deleteInstance(id: string, options: GpuCloudCallOptions = {}): Promise<boolean> {
    const result = await this.#request<object | undefined>(
      'DELETE',
      `/v1/instances/${encodeURIComponent(id)}`,
      options,
      { notFound: 'undefined' },
    );
    return result !== undefined;
  }

  listPrices(options: GpuCloudCallOptions = {}): Promise<PricesBody> {
    return this.#request<PricesBody>('GET', '/v1/prices', options);
  }

  async #request<T>(
    method: string,
    path: string,
    call: GpuCloudCallOptions,
    extra: {
      body?: unknown;
      headers?: Record<string, string>;
      notFound?: 'undefined';
    } = {},
  ): Promise<T> {
    const { baseUrl, apiKey, fetch, requestTimeoutMs, now } = this.#options;
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const signal =
      call.abortSignal === undefined ? timeout : AbortSignal.any([call.abortSignal, timeout]);
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method,
        signal,
        headers: {
          authorization: `Bearer ${apiKey}`,
          accept: 'application/json',
          ...(extra.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...extra.headers,
        },
        ...(extra.body === undefined ? {} : { body: JSON.stringify(extra.body) }),
      });
    } catch (error) {
      throw this.#transportError(error, call, method, path);
    }
    if (extra.notFound === 'undefined' && response.status === 404) {
      await response.body?.cancel();
      return undefined as T;
    }
    if (response.ok) {
      const text = await response.text();
      return (text === '' ? {} : JSON.parse(text)) as T;
    }
    const body = (await response.json().catch(() => undefined)) as ApiErrorBody | undefined;
    throw mapGpuCloudError(
      {
        status: response.status,
        code: body?.error?.code,
        message: body?.error?.message ?? response.statusText,
        retryAfter: response.headers.get('retry-after'),
      },
      { location: call.location, capacityType: call.capacityType, now },
    );
  }

  #transportError(error: unknown, call: GpuCloudCallOptions, method: string, path: string): Error {
    if (call.abortSignal?.aborted === true) {
      return new AbortedError(`gpu-cloud: ${method} ${path} was aborted`, {
        cause: call.abortSignal.reason,
      });
    }
    // A timeout or a network failure: the cloud may or may not have acted. Retryable; a
    // launch that got this far is found (tagged) by `list` and adopted by the engine.
    return new ProviderError(`gpu-cloud: ${method} ${path} failed before an answer`, {
      cause: error,
      retryable: true,
    });
  }
}
