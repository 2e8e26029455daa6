import { createHash } from 'node:crypto';

// Fixed namespace so that the same idempotency key always yields the same request id.
const REQUEST_ID_NAMESPACE = Buffer.from('5d7c3e1a9b2f4c6e8a0b1c2d3e4f5a6b', 'hex');

/**
 * A deterministic RFC 4122 version-5-style UUID for `name`. Compute Engine wants a UUID as
 * `requestId`; deriving it from the idempotency key makes a retried insert a no-op.
 */
export function deterministicUuid(name: string): string {
  const bytes = createHash('sha1').update(REQUEST_ID_NAMESPACE).update(name).digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const MAX_NAME_LENGTH = 63;
const VALID_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The instance name for an idempotency key: `<prefix>-<key>` when that is a valid
 * Compute Engine name (≤ 63 chars, `[a-z]([-a-z0-9]*[a-z0-9])?`), otherwise a truncated,
 * cleaned key with a hash of the full key appended. Same key, same name.
 */
export function instanceNameFor(prefix: string, idempotencyKey: string): string {
  const direct = `${prefix}-${idempotencyKey}`;
  if (direct.length <= MAX_NAME_LENGTH && VALID_NAME.test(direct)) return direct;
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 10);
  const room = MAX_NAME_LENGTH - prefix.length - hash.length - 2;
  const cleaned = idempotencyKey
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, Math.max(0, room))
    .replace(/-+$/, '');
  return cleaned === '' ? `${prefix}-${hash}` : `${prefix}-${cleaned}-${hash}`;
}

/** Whether `name` is a valid Compute Engine resource name. */
export function isValidResourceName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && VALID_NAME.test(name);
}
