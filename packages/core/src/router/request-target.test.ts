import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fetchPathOf, joinBasePath, upstreamPathOf } from './request-target.js';

describe('upstreamPathOf', () => {
  it.each([
    ['/v1/models', '/v1/models'],
    ['/v1/models?limit=2', '/v1/models?limit=2'],
    ['http://evil.example:9/v1/x?y=1', '/v1/x?y=1'],
    ['HTTPS://evil.example/v1/x', '/v1/x'],
    ['/a/../../../../etc/passwd', '/etc/passwd'],
    ['/a/%2e%2e/%2E%2E/b', '/b'],
    ['/a/..\\..\\b', '/b'],
    ['//evil.example/x', '//evil.example/x'],
    ['/x#fragment', '/x'],
    ['/a b', '/a%20b'],
  ])('%s → %s', (target, expected) => {
    expect(upstreamPathOf(target)).toBe(expected);
  });

  it.each(['*', 'evil.example:443', 'ftp://evil.example/x', '', 'javascript:alert(1)'])(
    'refuses %s',
    (target) => {
      expect(upstreamPathOf(target)).toBeUndefined();
    },
  );
});

describe('upstreamPathOf without a URL object (the plain-target shortcut)', () => {
  // Characters that matter to URL parsing: separators, dots, escapes, quotes, spaces,
  // backslashes, fragments, non-ASCII.
  const alphabet = [...'aZ09/.%2eE?#\\ \'"<>`{}|^[]~-_!$&()*+,;=:@é\t', '%2e', '%2E', '..', '/.'];
  const viaUrl = (target: string): string => {
    const url = new URL(`http://router.invalid${target}`);
    return url.pathname + url.search;
  };

  it('agrees with the URL parser on any origin-form target', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.constantFrom(...alphabet), { maxLength: 24 })
          .map((parts) => `/${parts.join('')}`),
        (target) => {
          expect(upstreamPathOf(target)).toBe(viaUrl(target));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it.each(['/v1/chat/completions', '/v1/models?limit=2&after=x%20y', '/files/a.b-c_d~e'])(
    'forwards %s as is',
    (target) => {
      expect(upstreamPathOf(target)).toBe(target);
    },
  );
});

describe('fetchPathOf', () => {
  it('takes only the path and query of URLs and accepts relative paths', () => {
    expect(fetchPathOf(new URL('http://elsewhere:1/a/../b?c=d'))).toBe('/b?c=d');
    expect(fetchPathOf('v1/models')).toBe('/v1/models');
    expect(fetchPathOf('/v1/models')).toBe('/v1/models');
    expect(fetchPathOf('file:///etc/passwd')).toBeUndefined();
    expect(fetchPathOf(new URL('file:///etc/passwd'))).toBeUndefined();
  });
});

describe('joinBasePath', () => {
  it('prefixes the endpoint base path', () => {
    expect(joinBasePath('', '/x')).toBe('/x');
    expect(joinBasePath('/api', '/x?y')).toBe('/api/x?y');
  });
});
