import { describe, expect, it } from 'vitest';
import {
  CapacityUnavailableError,
  ErrorCode,
  ProviderError,
  SpotHedgeError,
  ThrottledError,
} from './errors.js';

describe('SpotHedgeError.isInstance', () => {
  it('matches by brand and code, not by prototype identity', () => {
    const capacity = new CapacityUnavailableError('no room', { location: 'aws/r/z' });
    expect(SpotHedgeError.isInstance(capacity)).toBe(true);
    expect(CapacityUnavailableError.isInstance(capacity)).toBe(true);
    expect(ThrottledError.isInstance(capacity)).toBe(false);
    expect(SpotHedgeError.isInstance(new Error('plain'))).toBe(false);
    expect(SpotHedgeError.isInstance('CAPACITY_UNAVAILABLE')).toBe(false);
    // An error from a second copy of the package: another class, the same global brand.
    class Copy extends Error {
      readonly code = ErrorCode.CapacityUnavailable;
    }
    Object.defineProperty(Copy.prototype, Symbol.for('spothedge.error'), { value: true });
    expect(CapacityUnavailableError.isInstance(new Copy('elsewhere'))).toBe(true);
    expect(ProviderError.isInstance(new Copy('elsewhere'))).toBe(false);
  });

  it('keeps the brand out of the error’s own, enumerable fields', () => {
    const error = new ThrottledError('slow down', { retryAfterMs: 200 });
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(Object.keys(error)).not.toContain('spothedge.error');
    expect(error).toMatchObject({
      code: ErrorCode.Throttled,
      retryable: true,
      name: 'ThrottledError',
    });
  });
});
