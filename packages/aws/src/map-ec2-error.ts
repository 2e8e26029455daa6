import {
  AbortedError,
  AuthError,
  CapacityUnavailableError,
  InvalidConfigError,
  ProviderError,
  QuotaExceededError,
  SpotHedgeError,
  ThrottledError,
} from '@spothedge/core';
import type { CapacityType } from '@spothedge/core';

/** The core error class an EC2 error code maps to. */
export type Ec2ErrorKind = 'capacity' | 'quota' | 'throttled' | 'auth' | 'invalid-config';

/**
 * EC2 error codes with a fixed meaning. Codes ending in `.*` match every code with that
 * prefix (`InvalidAMIID.NotFound`, `InvalidAMIID.Malformed`, ...). Anything else becomes a
 * {@link ProviderError} that keeps the original as `cause`.
 */
export const EC2_ERROR_KINDS: Readonly<Record<string, Ec2ErrorKind>> = {
  InsufficientInstanceCapacity: 'capacity',
  InsufficientCapacity: 'capacity',
  UnfulfillableCapacity: 'capacity',
  MaxSpotInstanceCountExceeded: 'capacity',
  SpotMaxPriceTooLow: 'capacity',
  InsufficientHostCapacity: 'capacity',
  InsufficientReservedInstanceCapacity: 'capacity',
  VcpuLimitExceeded: 'quota',
  InstanceLimitExceeded: 'quota',
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ThrottlingException: 'throttled',
  RequestThrottled: 'throttled',
  EC2ThrottledException: 'throttled',
  UnauthorizedOperation: 'auth',
  AuthFailure: 'auth',
  InvalidClientTokenId: 'auth',
  SignatureDoesNotMatch: 'auth',
  ExpiredToken: 'auth',
  OptInRequired: 'auth',
  InvalidParameterValue: 'invalid-config',
  InvalidParameterCombination: 'invalid-config',
  'InvalidAMIID.*': 'invalid-config',
  'InvalidSubnetID.*': 'invalid-config',
  'InvalidGroup.*': 'invalid-config',
  'InvalidKeyPair.*': 'invalid-config',
  'InvalidSecurityGroupID.*': 'invalid-config',
};

/** Which setting an invalid-config code points at, for the error's `setting` field. */
const SETTING_BY_CODE_PREFIX: readonly (readonly [string, string])[] = [
  ['InvalidAMIID', 'imageId'],
  ['InvalidSubnetID', 'subnets'],
  ['InvalidGroup', 'securityGroupIds'],
  ['InvalidSecurityGroupID', 'securityGroupIds'],
  ['InvalidKeyPair', 'keyName'],
];

/** The kind for `code`, or `undefined` for codes without a fixed meaning. */
export function ec2ErrorKind(code: string): Ec2ErrorKind | undefined {
  const exact = EC2_ERROR_KINDS[code];
  if (exact !== undefined) return exact;
  const dot = code.indexOf('.');
  return dot === -1 ? undefined : EC2_ERROR_KINDS[`${code.slice(0, dot)}.*`];
}

/** What the provider was doing when the error happened, to fill the error's fields. */
export interface Ec2ErrorContext {
  /** The EC2 action, e.g. `RunInstances`. */
  readonly action: string;
  readonly location?: string | undefined;
  readonly capacityType?: CapacityType | undefined;
  /** Setting values worth naming in an invalid-config error, keyed by setting name. */
  readonly settings?: Readonly<Record<string, unknown>> | undefined;
  readonly abortSignal?: AbortSignal | undefined;
}

interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/** The EC2 error code of an SDK exception (its `name`), or of a Node socket error. */
export function ec2ErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as SdkErrorShape;
  if (typeof shape.Code === 'string') return shape.Code;
  if (shape.$fault !== undefined && typeof shape.name === 'string') return shape.name;
  if (typeof shape.code === 'string') return shape.code;
  return typeof shape.name === 'string' ? shape.name : undefined;
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Maps anything an EC2 call threw to a core typed error. Already-typed errors pass through;
 * an aborted call becomes {@link AbortedError}; codes in {@link EC2_ERROR_KINDS} become their
 * class; anything else is a {@link ProviderError} keeping the original as `cause`,
 * retryable for 5xx responses and network failures.
 */
export function mapEc2Error(error: unknown, context: Ec2ErrorContext): SpotHedgeError {
  if (SpotHedgeError.isInstance(error)) return error;
  const code = ec2ErrorCode(error) ?? 'Unknown';
  if (context.abortSignal?.aborted === true || code === 'AbortError') {
    return new AbortedError(`EC2 ${context.action} was aborted`, {
      cause: context.abortSignal?.reason ?? error,
    });
  }
  const rawMessage =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as SdkErrorShape).message === 'string'
      ? ((error as SdkErrorShape).message as string)
      : String(error);
  const where = context.location === undefined ? '' : ` in ${context.location}`;
  const message = `EC2 ${context.action}${where} failed with ${code}: ${rawMessage}`;
  const fields = {
    cause: error,
    location: context.location,
    capacityType: context.capacityType,
  };
  switch (ec2ErrorKind(code)) {
    case 'capacity':
      return new CapacityUnavailableError(message, fields);
    case 'quota':
      return new QuotaExceededError(message, fields);
    case 'throttled':
      return new ThrottledError(message, { cause: error });
    case 'auth':
      return new AuthError(message, { cause: error });
    case 'invalid-config': {
      const prefix = code.split('.')[0] ?? code;
      const setting = SETTING_BY_CODE_PREFIX.find(([candidate]) => candidate === prefix)?.[1];
      return setting === undefined
        ? new InvalidConfigError(message, { cause: error })
        : new InvalidConfigError(message, {
            cause: error,
            setting,
            value: context.settings?.[setting],
          });
    }
    case undefined: {
      const status = httpStatus(error);
      const network = status === undefined && isNetworkError(code);
      return new ProviderError(message, {
        cause: error,
        providerCode: code,
        retryable: (status !== undefined && status >= 500) || network,
      });
    }
  }
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'TimeoutError',
  'RequestTimeout',
]);

function isNetworkError(code: string): boolean {
  return NETWORK_ERROR_CODES.has(code);
}
