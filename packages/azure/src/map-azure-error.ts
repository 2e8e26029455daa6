import {
  AbortedError,
  AuthError,
  CapacityUnavailableError,
  InvalidConfigError,
  ProviderError,
  QuotaExceededError,
  SpotHedgeError,
  ThrottledError,
  type CapacityType,
} from '@spothedge/core';

/** The ARM error shape: `{ code, message, target?, details?: [...] }` (the body's `error`). */
export interface ArmErrorDetail {
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  readonly target?: string | undefined;
  readonly details?: readonly ArmErrorDetail[] | undefined;
  readonly innererror?: unknown;
}

/** Where the error happened, for the typed error's fields and message. */
export interface AzureErrorContext {
  /** e.g. `launch`, `list`, `terminate`. */
  readonly operation: string;
  readonly location?: string | undefined;
  readonly capacityType?: CapacityType | undefined;
  /**
   * The `error` of a failed long-running operation's status body, when it was captured
   * (the SDK's own error for a failed operation is a plain `Error` that keeps only the
   * top-level code in its message).
   */
  readonly operationError?: ArmErrorDetail | undefined;
  /**
   * The `error` of the HTTP response behind `error`, when it was captured (the SDK drops
   * the body of a failed first request of a long-running call).
   */
  readonly responseError?: ArmErrorDetail | undefined;
}

/** Codes that mean "no capacity for this request here now": never retried in place. */
export const CAPACITY_CODES: ReadonlySet<string> = new Set([
  'SkuNotAvailable',
  'AllocationFailed',
  'ZonalAllocationFailed',
  'OverconstrainedAllocationRequest',
  'OverconstrainedZonalAllocationRequest',
  'SpotVmCapacityUnavailable',
]);

/** Codes that always mean a quota or limit. */
export const QUOTA_CODES: ReadonlySet<string> = new Set([
  'QuotaExceeded',
  'LowPriorityCoresQuota',
  'LowPriorityQuotaExceeded',
  'ResourceQuotaExceeded',
  'SubscriptionQuotaExceeded',
]);

/** Codes that mean the caller is not (or no longer) allowed. */
export const AUTH_CODES: ReadonlySet<string> = new Set([
  'AuthenticationFailed',
  'AuthorizationFailed',
  'InvalidAuthenticationToken',
  'InvalidAuthenticationTokenTenant',
  'ExpiredAuthenticationToken',
  'LinkedAuthorizationFailed',
  'SubscriptionNotRegistered',
  'MissingSubscriptionRegistration',
]);

/** Codes that mean a setting (image, subnet, size, key…) is wrong. */
export const INVALID_CONFIG_CODES: ReadonlySet<string> = new Set([
  'InvalidParameter',
  'InvalidRequestContent',
  'InvalidRequestFormat',
  'InvalidResourceReference',
  'InvalidResourceId',
  'LinkedInvalidPropertyId',
  'InvalidLinkedResourceId',
  'ImageNotFound',
  'PlatformImageNotFound',
  'InvalidTemplate',
  'ResourceGroupNotFound',
  'SubscriptionNotFound',
  'NotSupported',
  'PropertyChangeNotAllowed',
  'VMMarketplaceInvalidInput',
  'MarketplacePurchaseEligibilityFailed',
  'BadRequest',
]);

const THROTTLE_CODES: ReadonlySet<string> = new Set([
  'TooManyRequests',
  'Throttled',
  'RetryableError',
]);
const QUOTA_TEXT = /quota|limit/i;
const FAILED_OPERATION_PREFIX = 'The long-running operation has failed';
const FAILED_OPERATION_MESSAGE =
  /^The long-running operation has failed\. ([A-Za-z0-9_.]+)\. ([\s\S]*)$/;

interface RestErrorLike {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly statusCode?: number;
  readonly details?: unknown;
  readonly response?: { readonly headers?: { get(name: string): string | undefined } };
}

/** Whether `error` is the SDK's plain `Error` for a long-running operation that failed. */
export function isFailedOperationError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith(FAILED_OPERATION_PREFIX);
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into ms; undefined when absent. */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Every `{ code, message, target }` in an ARM error, depth first (top level first). */
function flatten(
  detail: ArmErrorDetail | undefined,
  into: ArmErrorDetail[] = [],
): ArmErrorDetail[] {
  if (detail === undefined || detail === null || typeof detail !== 'object') return into;
  into.push(detail);
  if (Array.isArray(detail.details)) {
    for (const child of detail.details) flatten(child as ArmErrorDetail, into);
  }
  return into;
}

function armErrorOf(error: RestErrorLike): ArmErrorDetail | undefined {
  const details = error.details as { error?: ArmErrorDetail } | ArmErrorDetail | undefined;
  if (details === undefined || details === null || typeof details !== 'object') return undefined;
  if ('error' in details && details.error !== undefined) return details.error;
  if ('code' in details) return details as ArmErrorDetail;
  return undefined;
}

function describe(entries: readonly ArmErrorDetail[], fallback: string): string {
  const parts = entries
    .filter((entry) => entry.code !== undefined || entry.message !== undefined)
    .map((entry) => `${entry.code ?? 'Error'}: ${entry.message ?? ''}`.trim());
  return parts.length > 0 ? parts.join(' | ') : fallback;
}

/**
 * Maps anything the Azure SDK throws (a `RestError` with the ARM error body in
 * `details`, a failed long-running operation, a network or abort error) to the typed
 * SDK errors. Codes nested in `error.details[]` count as much as the top-level one.
 */
export function mapAzureError(error: unknown, context: AzureErrorContext): SpotHedgeError {
  if (SpotHedgeError.isInstance(error)) return error;
  const restError = (typeof error === 'object' && error !== null ? error : {}) as RestErrorLike;
  const prefix = `Azure ${context.operation} failed`;

  if (restError.name === 'AbortError') {
    return new AbortedError(`${prefix}: the operation was aborted`, { cause: error });
  }

  let top = context.responseError ?? armErrorOf(restError) ?? context.operationError;
  if (top === undefined && isFailedOperationError(error)) {
    const match = FAILED_OPERATION_MESSAGE.exec((error as Error).message);
    if (match !== null) top = { code: match[1], message: match[2] };
  }
  if (top === undefined && restError.code !== undefined && restError.statusCode !== undefined) {
    top = { code: restError.code, message: restError.message };
  }
  const entries = flatten(top);
  const codes = entries
    .map((entry) => entry.code)
    .filter((code): code is string => code !== undefined);
  const status = restError.statusCode;
  const text = describe(entries, restError.message ?? String(error));
  const message = `${prefix}: ${text}`;
  const providerCode = codes[0] ?? restError.code;
  const fields = { location: context.location, capacityType: context.capacityType, cause: error };

  if (status === 429 || codes.some((code) => THROTTLE_CODES.has(code))) {
    const retryAfterMs = parseRetryAfter(restError.response?.headers?.get('retry-after'));
    return new ThrottledError(
      message,
      retryAfterMs === undefined ? { cause: error } : { retryAfterMs, cause: error },
    );
  }
  if (codes.some((code) => CAPACITY_CODES.has(code))) {
    return new CapacityUnavailableError(message, fields);
  }
  const quotaByText = entries.some(
    (entry) => entry.code === 'OperationNotAllowed' && QUOTA_TEXT.test(entry.message ?? ''),
  );
  if (quotaByText || codes.some((code) => QUOTA_CODES.has(code))) {
    return new QuotaExceededError(message, fields);
  }
  if (status === 401 || status === 403 || codes.some((code) => AUTH_CODES.has(code))) {
    return new AuthError(message, { cause: error });
  }
  const invalid = entries.find(
    (entry) =>
      entry.code !== undefined &&
      (INVALID_CONFIG_CODES.has(entry.code) || entry.code === 'OperationNotAllowed'),
  );
  if (invalid !== undefined) {
    const target = entries.find((entry) => entry.target !== undefined)?.target;
    return new InvalidConfigError(message, {
      setting: target ?? 'azure',
      value: invalid.code,
      cause: error,
    });
  }
  const retryable =
    (status !== undefined && status >= 500) ||
    (status === undefined && !isFailedOperationError(error) && top === undefined);
  return new ProviderError(
    message,
    providerCode === undefined
      ? { retryable, cause: error }
      : { providerCode, retryable, cause: error },
  );
}
