import { describe, expect, it } from 'vitest';
import { clientResponseHeaderList, connectionTokens, rawHeaderBytes } from './http-headers.js';

const noSecrets = { names: new Set<string>(), values: [] };

// undici hands over raw headers as Buffers, names in the replica's case.
function raw(...pairs: string[]): Buffer[] {
  return pairs.map((part) => Buffer.from(part, 'latin1'));
}

describe('clientResponseHeaderList', () => {
  it('drops hop-by-hop headers and those the Connection header lists, wherever they are', () => {
    const result = clientResponseHeaderList(
      raw(
        'X-Hop',
        '1',
        'Connection',
        'close, x-hop',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'Content-Type',
        'text/plain',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
      ),
      noSecrets,
    );
    expect(result).toEqual({
      headers: ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2'],
      hasContentLength: false,
    });
  });

  it('says whether the response has a content-length', () => {
    expect(clientResponseHeaderList(raw('Content-Length', '2'), noSecrets)).toEqual({
      headers: ['content-length', '2'],
      hasContentLength: true,
    });
    expect(
      clientResponseHeaderList(
        raw('content-length', '2', 'connection', 'content-length'),
        noSecrets,
      ).hasContentLength,
    ).toBe(false);
  });

  it('passes header bytes through unchanged (latin1 both ways)', () => {
    const value = Buffer.from('attachment; filename="é.txt"', 'utf8');
    const [, decoded] = clientResponseHeaderList(
      [Buffer.from('content-disposition'), value],
      noSecrets,
    ).headers;
    expect(Buffer.from(decoded!, 'latin1')).toEqual(value);
  });

  it('drops headers that name or carry replica credentials', () => {
    const result = clientResponseHeaderList(
      raw(
        'Authorization',
        'x',
        'x-debug',
        'sent Bearer s3cr3t-token-value',
        'x-ok',
        'fine',
        'x-list',
        'a',
        'x-list',
        's3cr3t-token-value',
      ),
      { names: new Set(['authorization']), values: ['s3cr3t-token-value'] },
    );
    expect(result.headers).toEqual(['x-ok', 'fine', 'x-list', 'a']);
  });

  it('turns a Location under the replica endpoint into a path', () => {
    const secrets = { ...noSecrets, endpoint: 'http://10.0.0.5:8080/api' };
    const location = (value: string) =>
      clientResponseHeaderList(raw('Location', value), secrets).headers[1];
    expect(location('http://10.0.0.5:8080/api/next?x=1')).toBe('/next?x=1');
    expect(location('http://10.0.0.5:8080/api')).toBe('/');
    expect(location('http://10.0.0.5:80801/x')).toBe('http://10.0.0.5:80801/x');
    expect(location('/relative')).toBe('/relative');
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
