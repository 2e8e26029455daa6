import { describe, expect, it } from 'vitest';
import { ReplicaTag, replicaEndpoint, replicaPortOf } from './provider.js';

describe('replica port tag', () => {
  it('reads a valid port and ignores anything else', () => {
    expect(replicaPortOf({ [ReplicaTag.Port]: '8081' })).toBe(8081);
    for (const value of ['', '0', '65536', '80a', '-1', '8.5', ' 80', '123456']) {
      expect(replicaPortOf({ [ReplicaTag.Port]: value }), value).toBeUndefined();
    }
    expect(replicaPortOf({})).toBeUndefined();
  });

  it('builds the endpoint from the address and the tagged port', () => {
    const tags = { [ReplicaTag.Port]: '8081' };
    expect(replicaEndpoint({ address: '10.0.0.5', tags })).toBe('http://10.0.0.5:8081');
    expect(replicaEndpoint({ address: 'fd00::1', tags })).toBe('http://[fd00::1]:8081');
  });

  it('lets an explicit port override the tag', () => {
    const tags = { [ReplicaTag.Port]: '8081' };
    expect(replicaEndpoint({ address: '10.0.0.5', tags, port: 9000 })).toBe('http://10.0.0.5:9000');
    expect(replicaEndpoint({ address: '10.0.0.5', tags: {}, port: 9000 })).toBe(
      'http://10.0.0.5:9000',
    );
  });

  it('has no endpoint without an address or a port', () => {
    expect(
      replicaEndpoint({ address: undefined, tags: { [ReplicaTag.Port]: '80' } }),
    ).toBeUndefined();
    expect(replicaEndpoint({ address: '', tags: { [ReplicaTag.Port]: '80' } })).toBeUndefined();
    expect(replicaEndpoint({ address: '10.0.0.5', tags: {} })).toBeUndefined();
  });
});
