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

/** What the failed call was doing, to pick the right error and fill its fields. */
export interface GcpErrorContext {
  /** Short description of the call, e.g. `insert instance spothedge-abc`. */
  readonly action: string;
  readonly location?: string | undefined;
  readonly capacityType?: CapacityType | undefined;
  /** A 404 on this call means a setting points at something missing (an image, a network). */
  readonly notFoundIsConfig?: boolean | undefined;
}

/** One entry of `operation.error.errors[]`. */
export interface GcpOperationErrorItem {
  readonly code?: string | null | undefined;
  readonly message?: string | null | undefined;
}

type ErrorKind = 'capacity' | 'quota' | 'throttled' | 'auth' | 'config';

/**
 * Compute Engine error codes (as they appear in `operation.error.errors[].code`, and in
 * error reasons or messages of HTTP errors) and what they mean for us.
 */
const CODE_KINDS: ReadonlyMap<string, ErrorKind> = new Map<string, ErrorKind>([
  ['ZONE_RESOURCE_POOL_EXHAUSTED', 'capacity'],
  ['ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', 'capacity'],
  ['REGION_RESOURCE_POOL_EXHAUSTED', 'capacity'],
  ['QUOTA_EXCEEDED', 'quota'],
  ['RESOURCE_OPERATION_RATE_EXCEEDED', 'throttled'],
  ['RATE_LIMIT_EXCEEDED', 'throttled'],
  ['RATELIMITEXCEEDED', 'throttled'],
  ['USERRATELIMITEXCEEDED', 'throttled'],
  ['INVALID_FIELD_VALUE', 'config'],
  ['RESOURCE_NOT_FOUND', 'config'],
  ['INVALID_USAGE', 'config'],
  ['BAD_REQUEST', 'config'],
  ['INVALID_ARGUMENT', 'config'],
]);

/** gRPC status codes google-gax puts on errors (HTTP status mapped). */
const GrpcCode = {
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;

const QUOTA_MESSAGE = /quota '[^']*' exceeded|quota exceeded/i;
const RATE_MESSAGE = /rate ?limit ?exceeded|RESOURCE_OPERATION_RATE_EXCEEDED|too many requests/i;

/** Settings a Compute Engine "invalid value" message may point at, in checking order. */
const SETTING_HINTS: readonly (readonly [RegExp, string])[] = [
  [/machine ?type/i, 'machineType'],
  [/accelerator/i, 'accelerators'],
  [/subnetwork/i, 'subnetwork'],
  [/network/i, 'network'],
  [/image/i, 'image'],
  [/service ?account/i, 'serviceAccount'],
  [/disk/i, 'diskType'],
  [/label/i, 'labels'],
  [/zone/i, 'zones'],
  [/project/i, 'project'],
];

function settingFromMessage(message: string): string | undefined {
  return SETTING_HINTS.find(([pattern]) => pattern.test(message))?.[1];
}

function kindOfCode(code: string | undefined, capacityType: CapacityType | undefined) {
  if (code === undefined) return undefined;
  // A spot launch refused as "unsupported" means no spot capacity of that shape there.
  if (code === 'UNSUPPORTED_OPERATION') return capacityType === 'spot' ? 'capacity' : undefined;
  return CODE_KINDS.get(code) ?? CODE_KINDS.get(code.toUpperCase());
}

function build(
  kind: ErrorKind,
  message: string,
  context: GcpErrorContext,
  cause: unknown,
): SpotHedgeError {
  const text = `GCP ${context.action} failed: ${message}`;
  const fields = { location: context.location, capacityType: context.capacityType, cause };
  switch (kind) {
    case 'capacity':
      return new CapacityUnavailableError(text, fields);
    case 'quota':
      return new QuotaExceededError(text, fields);
    case 'throttled':
      return new ThrottledError(text, { cause });
    case 'auth':
      return new AuthError(text, { cause });
    case 'config': {
      const setting = settingFromMessage(message);
      return new InvalidConfigError(text, setting === undefined ? { cause } : { setting, cause });
    }
  }
}

/**
 * Maps the errors of a finished operation (`operation.error.errors[]`) to one typed error.
 * The first error with a known code wins; unknown codes become a `ProviderError`.
 */
export function mapOperationError(
  errors: readonly GcpOperationErrorItem[],
  context: GcpErrorContext,
  cause: unknown = errors,
): SpotHedgeError {
  const message =
    errors.map((item) => `${item.code ?? 'UNKNOWN'}: ${item.message ?? ''}`).join('; ') ||
    'operation failed without details';
  for (const item of errors) {
    const kind =
      kindOfCode(item.code ?? undefined, context.capacityType) ??
      (QUOTA_MESSAGE.test(item.message ?? '') ? 'quota' : undefined);
    if (kind !== undefined) return build(kind, message, context, cause);
  }
  return new ProviderError(`GCP ${context.action} failed: ${message}`, {
    providerCode: errors[0]?.code ?? undefined,
    cause,
  });
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function numberField(value: unknown, key: string): number | undefined {
  const found = field(value, key);
  return typeof found === 'number' ? found : undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function isNetworkError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 4; depth++) {
    const code = field(current, 'code');
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (current instanceof TypeError && /fetch failed/i.test(current.message)) return true;
    current = field(current, 'cause');
  }
  return false;
}

/**
 * Maps an error thrown by a `@google-cloud/compute` call (a google-gax `GoogleError` with a
 * gRPC `code`, a gaxios error with an HTTP `status`, or a network error) to a typed error.
 * Errors that already are `SpotHedgeError`s pass through.
 */
export function mapGcpError(error: unknown, context: GcpErrorContext): SpotHedgeError {
  if (SpotHedgeError.isInstance(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new AbortedError(`GCP ${context.action} was aborted`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  const reason = field(error, 'reason');
  const httpStatus =
    numberField(error, 'status') ?? numberField(field(error, 'response'), 'status');
  const grpcCode = httpStatus === undefined ? numberField(error, 'code') : undefined;

  // A Compute Engine code in the reason or the message is the most specific signal.
  const namedCode = [
    typeof reason === 'string' ? reason : undefined,
    ...message.split(/[^A-Za-z_]+/),
  ]
    .map((word) => kindOfCode(word, context.capacityType))
    .find((kind) => kind !== undefined && kind !== 'config');
  if (namedCode !== undefined) return build(namedCode, message, context, error);
  if (QUOTA_MESSAGE.test(message) && httpStatus !== 429)
    return build('quota', message, context, error);
  if (RATE_MESSAGE.test(message)) return build('throttled', message, context, error);

  const status =
    httpStatus ??
    (grpcCode === GrpcCode.Unauthenticated
      ? 401
      : grpcCode === GrpcCode.PermissionDenied
        ? 403
        : grpcCode === GrpcCode.ResourceExhausted
          ? 429
          : grpcCode === GrpcCode.InvalidArgument
            ? 400
            : grpcCode === GrpcCode.NotFound
              ? 404
              : grpcCode === GrpcCode.AlreadyExists
                ? 409
                : grpcCode === GrpcCode.Unavailable
                  ? 503
                  : grpcCode === GrpcCode.Internal
                    ? 500
                    : grpcCode === GrpcCode.DeadlineExceeded
                      ? 504
                      : undefined);

  if (status === 401 || status === 403) return build('auth', message, context, error);
  if (status === 429) return build('throttled', message, context, error);
  if (status === 400) return build('config', message, context, error);
  if (status === 404 && context.notFoundIsConfig === true) {
    return build('config', message, context, error);
  }
  const retryable =
    (status !== undefined && status >= 500) || (status === undefined && isNetworkError(error));
  return new ProviderError(`GCP ${context.action} failed: ${message}`, {
    providerCode: status === undefined ? undefined : String(status),
    retryable,
    cause: error,
  });
}

/** Whether a thrown client error means "this resource does not exist" (HTTP 404). */
export function isNotFound(error: unknown): boolean {
  const status = numberField(error, 'status') ?? numberField(field(error, 'response'), 'status');
  if (status !== undefined) return status === 404;
  return numberField(error, 'code') === GrpcCode.NotFound;
}

/** Whether a thrown client error means "this resource already exists" (HTTP 409). */
export function isAlreadyExists(error: unknown): boolean {
  const status = numberField(error, 'status') ?? numberField(field(error, 'response'), 'status');
  if (status !== undefined) return status === 409;
  const code = numberField(error, 'code');
  return (
    code === GrpcCode.AlreadyExists ||
    (code === GrpcCode.Aborted && /already exists/i.test(String(field(error, 'message'))))
  );
}
