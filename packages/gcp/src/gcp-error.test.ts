import {
  AbortedError,
  AuthError,
  CapacityUnavailableError,
  InvalidConfigError,
  ProviderError,
  QuotaExceededError,
  ThrottledError,
} from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { mapGcpError } from './gcp-error.js';

// Errors as other transports deliver them: gaxios errors carry the HTTP `status`, network
// failures carry a socket code. (google-gax GoogleErrors are covered end to end through
// the fake server in gcp-provider.test.ts.)
const gaxios = (status: number, message: string) => Object.assign(new Error(message), { status });

describe('mapGcpError (other error shapes)', () => {
  const cases: [
    string,
    unknown,
    { isInstance(value: unknown): boolean },
    Record<string, unknown>?,
  ][] = [
    ['gaxios 401', gaxios(401, 'Unauthorized'), AuthError],
    ['gaxios 403', gaxios(403, 'Forbidden'), AuthError],
    ['gaxios 429', gaxios(429, 'Too Many Requests'), ThrottledError, { retryable: true }],
    [
      'gaxios 400',
      gaxios(400, "Invalid value for field 'resource.disks[0].initializeParams.sourceImage'"),
      InvalidConfigError,
      { setting: 'image' },
    ],
    ['gaxios 503', gaxios(503, 'Service Unavailable'), ProviderError, { retryable: true }],
    ['gaxios 409', gaxios(409, 'Conflict'), ProviderError, { retryable: false }],
    ['gaxios 403 quota', gaxios(403, "Quota 'CPUS' exceeded."), QuotaExceededError],
    [
      'stockout in message',
      gaxios(503, 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS'),
      CapacityUnavailableError,
    ],
    [
      'connection refused',
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      }),
      ProviderError,
      { retryable: true },
    ],
    ['abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), AbortedError],
  ];

  it.each(cases)('%s', (_, error, expected, fields) => {
    const mapped = mapGcpError(error, {
      action: 'test',
      capacityType: 'spot',
      location: 'gcp/us-central1/us-central1-a',
    });
    expect(expected.isInstance(mapped), String(mapped)).toBe(true);
    if (fields !== undefined) expect(mapped).toMatchObject(fields);
    expect(mapped.cause).toBe(error);
  });
});
