import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, connectionTokens, rawHeaderBytes } from './http-headers.js';

const noSecrets = { names: new Set<string>(), values: [] };

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop headers and those the Connection header lists', () => {
    const result = clientResponseHeaders(
      {
        connection: 'close, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
      },
      noSecrets,
    );
    expect(result).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('drops headers that name or carry replica credentials', () => {
    const result = clientResponseHeaders(
      {
        authorization: 'x',
        'x-debug': 'sent Bearer s3cr3t-token-value',
        'x-ok': 'fine',
        'x-list': ['a', 's3cr3t-token-value'],
      },
      { names: new Set(['authorization']), values: ['s3cr3t-token-value'] },
    );
    expect(result).toEqual({ 'x-ok': 'fine' });
  });

  it('turns a Location under the replica endpoint into a path', () => {
    const secrets = { ...noSecrets, endpoint: 'http://10.0.0.5:8080/api' };
    expect(
      clientResponseHeaders({ location: 'http://10.0.0.5:8080/api/next?x=1' }, secrets),
    ).toEqual({
      location: '/next?x=1',
    });
    expect(clientResponseHeaders({ location: 'http://10.0.0.5:8080/api' }, secrets).location).toBe(
      '/',
    );
    expect(clientResponseHeaders({ location: 'http://10.0.0.5:80801/x' }, secrets).location).toBe(
      'http://10.0.0.5:80801/x',
    );
    expect(clientResponseHeaders({ location: '/relative' }, secrets).location).toBe('/relative');
  });
});

describe('connectionTokens / rawHeaderBytes', () => {
  it('parses Connection tokens case-insensitively', () => {
    expect([...connectionTokens('Keep-Alive, X-Foo ,')]).toEqual(['keep-alive', 'x-foo']);
    expect([...connectionTokens(undefined)]).toEqual([]);
  });

  it('counts header bytes as sent', () => {
    expect(rawHeaderBytes(['Host', 'a', 'X', 'Ã©'])).toBe(4 + 1 + 1 + 2 + 4 * 2); // 'é' as latin1
  });
});
