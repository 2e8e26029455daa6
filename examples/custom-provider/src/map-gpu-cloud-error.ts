import {
  AuthError,
  CapacityUnavailableError,
  InvalidConfigError,
  ProviderError,
  QuotaExceededError,
  ThrottledError,
  type CapacityType,
  type SpotHedgeError,
} from '@spothedge/core';

/** What the client knows about a failed HTTP answer. */
export interface GpuCloudFailure {
  readonly status: number;
  /** `error.code` of the JSON body, when there was one. */
  readonly code: string | undefined;
  readonly message: string;
  /** The `Retry-After` header, when present. */
  readonly retryAfter: string | null;
}

/** The request the failure answers, so errors can name the location and capacity type. */
export interface GpuCloudFailureContext {
  readonly location?: string | undefined;
  readonly capacityType?: CapacityType | undefined;
  /** Clock for HTTP-date `Retry-After` values. */
  readonly now: () => number;
}

// #region parse-retry-after
/** `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
// #endregion

// #region map-error
/**
 * Maps one gpu-cloud failure to the typed error the SDK acts on. The engine never parses
 * cloud messages: it switches on the class (`code`) and `retryable`.
 */
export function mapGpuCloudError(
  failure: GpuCloudFailure,
  context: GpuCloudFailureContext,
): SpotHedgeError {
  const { status, code, message } = failure;
  const where = { location: context.location, capacityType: context.capacityType };
  const text = `gpu-cloud: ${message} (HTTP ${status}${code === undefined ? '' : ` ${code}`})`;
  if (status === 409 && code === 'no_capacity') {
    // Never retried in place: the policy marks the location and places elsewhere.
    return new CapacityUnavailableError(text, where);
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(failure.retryAfter, context.now());
    return new ThrottledError(text, retryAfterMs === undefined ? {} : { retryAfterMs });
  }
  if (code === 'quota_exceeded') return new QuotaExceededError(text, where);
  if (status === 401 || status === 403) return new AuthError(text);
  if (status === 400 && code === 'invalid_request') {
    return new InvalidConfigError(text, { setting: 'request', value: message });
  }
  // Anything else: retryable when the cloud says it is its own fault.
  return new ProviderError(text, {
    providerCode: code ?? String(status),
    retryable: status >= 500,
  });
}
// #endregion
