/**
 * Typed errors. Every error the SDK throws extends {@link SpotHedgeError}: it carries a
 * literal `code` you can `switch` on, a `retryable` flag, structured fields and an
 * optional `cause`. Checks go through the static `isInstance`, which survives duplicated
 * installs of this package (the brand is a global `Symbol.for`), unlike `instanceof`.
 *
 * @example
 * ```ts
 * try {
 *   await provider.launch(request);
 * } catch (error) {
 *   if (CapacityUnavailableError.isInstance(error)) policy.observe(...);
 *   else throw error;
 * }
 * ```
 */

const brand = Symbol.for('spothedge.error');

/** Every error code the SDK uses. Stable: safe to persist and to `switch` on. */
export const ErrorCode = {
  CapacityUnavailable: 'CAPACITY_UNAVAILABLE',
  QuotaExceeded: 'QUOTA_EXCEEDED',
  Throttled: 'THROTTLED',
  AuthFailed: 'AUTH_FAILED',
  InvalidConfig: 'INVALID_CONFIG',
  InstanceNotFound: 'INSTANCE_NOT_FOUND',
  NotOwned: 'NOT_OWNED',
  IllegalState: 'ILLEGAL_STATE',
  InvalidSpec: 'INVALID_SPEC',
  InvalidArgument: 'INVALID_ARGUMENT',
  ProviderFailure: 'PROVIDER_FAILURE',
  NoReadyReplica: 'NO_READY_REPLICA',
  UpstreamTimeout: 'UPSTREAM_TIMEOUT',
  UpstreamFailure: 'UPSTREAM_FAILURE',
  LeaseLost: 'LEASE_LOST',
  Aborted: 'ABORTED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface SpotHedgeErrorOptions {
  /** The underlying error (an SDK exception, a socket error, ...). */
  readonly cause?: unknown;
  /** Override the class default: whether retrying the same call may succeed. */
  readonly retryable?: boolean;
}

/** Base class of every error thrown by spothedge packages. */
export class SpotHedgeError extends Error {
  /** The code of this error class; subclasses narrow it to one literal. */
  static readonly code: ErrorCode = ErrorCode.ProviderFailure;
  /** Whether this class of error is retryable by default. */
  static readonly retryableByDefault: boolean = false;

  readonly code: ErrorCode;
  readonly retryable: boolean;
  declare readonly [brand]: true;

  constructor(message: string, options: SpotHedgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const ctor = new.target as typeof SpotHedgeError;
    this.name = ctor.name;
    this.code = ctor.code;
    this.retryable = options.retryable ?? ctor.retryableByDefault;
  }

  /**
   * Whether `value` is an error of this class (matched by brand and code, so it works
   * across duplicated installs). `SpotHedgeError.isInstance` matches every SDK error.
   */
  static isInstance<T extends abstract new (...args: never[]) => SpotHedgeError>(
    this: T & { readonly code: ErrorCode },
    value: unknown,
  ): value is InstanceType<T> {
    if (typeof value !== 'object' || value === null || !(brand in value)) return false;
    if ((this as unknown) === SpotHedgeError) return true;
    return (value as SpotHedgeError).code === this.code;
  }
}
// The brand lives on the prototype (non-enumerable): inherited by every SDK error without a
// per-instance property definition (simulated clouds throw thousands of errors a second).
Object.defineProperty(SpotHedgeError.prototype, brand, { value: true });

/** Fields shared by errors that a provider raises about one location. */
export interface LocationErrorFields {
  /** Location id, e.g. `aws/us-east-1/us-east-1a`. */
  readonly location?: string | undefined;
  readonly capacityType?: 'spot' | 'on-demand' | undefined;
}

/**
 * The cloud has no capacity for this request in this location right now. Never retried
 * in place: the policy hears about it and picks another location.
 */
export class CapacityUnavailableError extends SpotHedgeError {
  static override readonly code = ErrorCode.CapacityUnavailable;
  declare readonly code: typeof ErrorCode.CapacityUnavailable;
  readonly location: string | undefined;
  readonly capacityType: 'spot' | 'on-demand' | undefined;
  constructor(message: string, fields: LocationErrorFields & SpotHedgeErrorOptions = {}) {
    super(message, fields);
    this.location = fields.location;
    this.capacityType = fields.capacityType;
  }
}

/** An account quota or limit forbids the request. Not retryable. */
export class QuotaExceededError extends SpotHedgeError {
  static override readonly code = ErrorCode.QuotaExceeded;
  declare readonly code: typeof ErrorCode.QuotaExceeded;
  readonly location: string | undefined;
  readonly capacityType: 'spot' | 'on-demand' | undefined;
  constructor(message: string, fields: LocationErrorFields & SpotHedgeErrorOptions = {}) {
    super(message, fields);
    this.location = fields.location;
    this.capacityType = fields.capacityType;
  }
}

/** The API rate-limited the call. Retryable, after `retryAfterMs` when the cloud says. */
export class ThrottledError extends SpotHedgeError {
  static override readonly code = ErrorCode.Throttled;
  static override readonly retryableByDefault = true;
  declare readonly code: typeof ErrorCode.Throttled;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, fields: { retryAfterMs?: number } & SpotHedgeErrorOptions = {}) {
    super(message, fields);
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/** Credentials are missing, expired or lack a permission. Not retryable. */
export class AuthError extends SpotHedgeError {
  static override readonly code = ErrorCode.AuthFailed;
  declare readonly code: typeof ErrorCode.AuthFailed;
}

/**
 * A setting is wrong (unknown image, bad subnet, malformed option). Names the setting and
 * the value it got.
 */
export class InvalidConfigError extends SpotHedgeError {
  static override readonly code = ErrorCode.InvalidConfig;
  declare readonly code: typeof ErrorCode.InvalidConfig;
  readonly setting: string | undefined;
  readonly value: unknown;
  constructor(
    message: string,
    fields: { setting?: string; value?: unknown } & SpotHedgeErrorOptions = {},
  ) {
    super(message, fields);
    this.setting = fields.setting;
    this.value = fields.value;
  }
}

/** The instance does not exist (or no longer exists). */
export class InstanceNotFoundError extends SpotHedgeError {
  static override readonly code = ErrorCode.InstanceNotFound;
  declare readonly code: typeof ErrorCode.InstanceNotFound;
  readonly instanceId: string;
  constructor(message: string, fields: { instanceId: string } & SpotHedgeErrorOptions) {
    super(message, fields);
    this.instanceId = fields.instanceId;
  }
}

/** The instance does not carry this service's ownership tags: we never touch it. */
export class NotOwnedError extends SpotHedgeError {
  static override readonly code = ErrorCode.NotOwned;
  declare readonly code: typeof ErrorCode.NotOwned;
  readonly instanceId: string;
  constructor(message: string, fields: { instanceId: string } & SpotHedgeErrorOptions) {
    super(message, fields);
    this.instanceId = fields.instanceId;
  }
}

/** An operation was called in a state that does not allow it (e.g. `fetch` after `stop`). */
export class IllegalStateError extends SpotHedgeError {
  static override readonly code = ErrorCode.IllegalState;
  declare readonly code: typeof ErrorCode.IllegalState;
  readonly state: string | undefined;
  constructor(message: string, fields: { state?: string } & SpotHedgeErrorOptions = {}) {
    super(message, fields);
    this.state = fields.state;
  }
}

/** One problem found while validating a spec or options. */
export interface Issue {
  /** Dotted path of the offending field, e.g. `replicas.max`. */
  readonly path: string;
  readonly message: string;
  readonly value?: unknown;
}

/** A `ServiceSpec` (or a SkyServe YAML) failed validation. Lists every problem found. */
export class InvalidSpecError extends SpotHedgeError {
  static override readonly code = ErrorCode.InvalidSpec;
  declare readonly code: typeof ErrorCode.InvalidSpec;
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[], options: SpotHedgeErrorOptions = {}) {
    super(
      `Invalid service spec: ${issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')}`,
      options,
    );
    this.issues = issues;
  }
}

/** A runtime argument or option is invalid. Names the argument and the value. */
export class InvalidArgumentError extends SpotHedgeError {
  static override readonly code = ErrorCode.InvalidArgument;
  declare readonly code: typeof ErrorCode.InvalidArgument;
  readonly argument: string;
  readonly value: unknown;
  constructor(
    message: string,
    fields: { argument: string; value: unknown } & SpotHedgeErrorOptions,
  ) {
    super(message, fields);
    this.argument = fields.argument;
    this.value = fields.value;
  }
}

/** Any other provider failure (5xx, network, unknown code); the original is the `cause`. */
export class ProviderError extends SpotHedgeError {
  static override readonly code = ErrorCode.ProviderFailure;
  declare readonly code: typeof ErrorCode.ProviderFailure;
  readonly providerCode: string | undefined;
  constructor(message: string, fields: { providerCode?: string } & SpotHedgeErrorOptions = {}) {
    super(message, fields);
    this.providerCode = fields.providerCode;
  }
}

/** No replica is ready to take the request. `retryAfterMs` hints when to try again. */
export class NoReadyReplicaError extends SpotHedgeError {
  static override readonly code = ErrorCode.NoReadyReplica;
  static override readonly retryableByDefault = true;
  declare readonly code: typeof ErrorCode.NoReadyReplica;
  readonly retryAfterMs: number;
  constructor(message: string, fields: { retryAfterMs: number } & SpotHedgeErrorOptions) {
    super(message, fields);
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/** The replica did not answer in time. */
export class UpstreamTimeoutError extends SpotHedgeError {
  static override readonly code = ErrorCode.UpstreamTimeout;
  declare readonly code: typeof ErrorCode.UpstreamTimeout;
  readonly replicaId: string | undefined;
  constructor(message: string, fields: { replicaId?: string } & SpotHedgeErrorOptions = {}) {
    super(message, fields);
    this.replicaId = fields.replicaId;
  }
}

/** The replica failed the request (connection reset after sending, and so on). */
export class UpstreamError extends SpotHedgeError {
  static override readonly code = ErrorCode.UpstreamFailure;
  declare readonly code: typeof ErrorCode.UpstreamFailure;
  readonly replicaId: string | undefined;
  constructor(message: string, fields: { replicaId?: string } & SpotHedgeErrorOptions = {}) {
    super(message, fields);
    this.replicaId = fields.replicaId;
  }
}

/** This host lost (or never held) the leader lease; it must stop acting. */
export class LeaseLostError extends SpotHedgeError {
  static override readonly code = ErrorCode.LeaseLost;
  declare readonly code: typeof ErrorCode.LeaseLost;
}

/** The caller's `AbortSignal` fired. */
export class AbortedError extends SpotHedgeError {
  static override readonly code = ErrorCode.Aborted;
  declare readonly code: typeof ErrorCode.Aborted;
}

/** Throws {@link AbortedError} if `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new AbortedError('The operation was aborted', { cause: signal.reason });
  }
}

/** Describes a value for error messages: "`2` (number)". */
export function describeValue(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  } catch {
    shown = String(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${kind})`;
}
