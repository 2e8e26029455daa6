import { InvalidConfigError } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { resolveAwsProviderSettings } from './aws-provider-settings.js';
import type { AwsProviderSettings } from './aws-provider-settings.js';

const valid: AwsProviderSettings = {
  regions: {
    'us-east-1': { zones: ['us-east-1a', 'us-east-1b'], subnets: { 'us-east-1a': 'subnet-0a' } },
  },
  instanceType: 'g5.xlarge',
  imageId: 'ami-0123456789abcdef0',
  credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
};

function settingOf(settings: unknown): string | undefined {
  try {
    resolveAwsProviderSettings(settings as AwsProviderSettings);
  } catch (error) {
    expect(InvalidConfigError.isInstance(error)).toBe(true);
    const invalid = error as InvalidConfigError;
    expect(invalid.message).toContain(`\`${invalid.setting}\``);
    return invalid.setting;
  }
  return undefined;
}

describe('resolveAwsProviderSettings', () => {
  it('fills in defaults', () => {
    const resolved = resolveAwsProviderSettings(valid);
    expect(resolved).toMatchObject({
      name: 'aws',
      instanceTypes: ['g5.xlarge'],
      endpointAddress: 'private',
      spotPriceRefreshMs: 300_000,
      productDescription: 'Linux/UNIX',
      pageSize: 1000,
      retry: { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 5_000 },
    });
    expect(resolved.regions).toEqual([
      {
        region: 'us-east-1',
        zones: ['us-east-1a', 'us-east-1b'],
        subnets: { 'us-east-1a': 'subnet-0a' },
        imageId: 'ami-0123456789abcdef0',
        securityGroupIds: [],
        endpoint: undefined,
      },
    ]);
  });

  it('accepts a client factory or an explicit opt-in to the default credential chain instead of credentials', () => {
    expect(
      settingOf({ ...valid, credentials: undefined, useDefaultCredentialChain: true }),
    ).toBeUndefined();
    expect(
      settingOf({ ...valid, credentials: undefined, createClient: () => undefined }),
    ).toBeUndefined();
    expect(
      settingOf({
        ...valid,
        credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
      }),
    ).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'no credentials (never the default chain silently)',
      { credentials: undefined },
      'credentials',
    ],
    ['credentials without a secret', { credentials: { accessKeyId: 'a' } }, 'credentials'],
    ['no regions', { regions: {} }, 'regions'],
    ['a bad region name', { regions: { east: { zones: ['east-a'] } } }, 'regions'],
    ['no zones', { regions: { 'us-east-1': { zones: [] } } }, 'regions.us-east-1.zones'],
    [
      'a zone of another region',
      { regions: { 'us-east-1': { zones: ['us-west-2a'] } } },
      'regions.us-east-1.zones[0]',
    ],
    [
      'a subnet for an unlisted zone',
      {
        regions: { 'us-east-1': { zones: ['us-east-1a'], subnets: { 'us-east-1c': 'subnet-1' } } },
      },
      'regions.us-east-1.subnets',
    ],
    [
      'a malformed subnet',
      { regions: { 'us-east-1': { zones: ['us-east-1a'], subnets: { 'us-east-1a': 'net-1' } } } },
      'regions.us-east-1.subnets.us-east-1a',
    ],
    ['no image', { imageId: undefined }, 'imageId'],
    ['a malformed image', { imageId: 'image-1' }, 'imageId'],
    ['no instance type', { instanceType: [] }, 'instanceType'],
    ['a bad instance type', { instanceType: 7 }, 'instanceType'],
    ['a malformed security group', { securityGroupIds: ['group'] }, 'securityGroupIds[0]'],
    ['a reserved tag key', { tags: { 'spothedge-service': 'x' } }, 'tags'],
    ['an aws: tag key', { tags: { 'aws:cost': 'x' } }, 'tags'],
    ['a non-string tag value', { tags: { team: 1 } }, 'tags.team'],
    ['an oversized startup script', { startupScript: 'x'.repeat(16 * 1024 + 1) }, 'startupScript'],
    ['a bad replica port', { replicaPort: 70_000 }, 'replicaPort'],
    ['a bad endpoint address', { endpointAddress: 'ipv6' }, 'endpointAddress'],
    ['a bad endpoint', { endpoint: 'ftp://x' }, 'endpoint'],
    [
      'a negative on-demand price',
      { onDemandPrices: { 'g5.xlarge': -1 } },
      'onDemandPrices.g5.xlarge',
    ],
    [
      'a bad regional price',
      { onDemandPrices: { 'g5.xlarge': { 'us-east-1': 'cheap' } } },
      'onDemandPrices.g5.xlarge.us-east-1',
    ],
    ['a page size out of range', { pageSize: 2 }, 'pageSize'],
    ['a bad max spot price', { maxSpotPrice: 'free' }, 'maxSpotPrice'],
    ['a bad retry count', { retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    ['a bad name', { name: 'AWS!' }, 'name'],
    ['a non-function client factory', { createClient: 'client' }, 'createClient'],
  ])('rejects %s, naming the setting', (_title, overrides, setting) => {
    expect(settingOf({ ...valid, ...overrides })).toBe(setting);
  });

  it('lets a region override the image and security groups', () => {
    const resolved = resolveAwsProviderSettings({
      ...valid,
      imageId: undefined,
      securityGroupIds: ['sg-top'],
      regions: {
        'us-east-1': { zones: ['us-east-1a'], imageId: 'ami-0east' },
        'eu-west-1': {
          zones: ['eu-west-1a'],
          imageId: 'ami-0west',
          securityGroupIds: ['sg-eu'],
          endpoint: 'http://127.0.0.1:1',
        },
      },
    });
    expect(
      resolved.regions.map((region) => [region.imageId, region.securityGroupIds, region.endpoint]),
    ).toEqual([
      ['ami-0east', ['sg-top'], undefined],
      ['ami-0west', ['sg-eu'], 'http://127.0.0.1:1'],
    ]);
  });

  it('never echoes credentials in the error', () => {
    try {
      resolveAwsProviderSettings({
        ...valid,
        credentials: { accessKeyId: 'AKIDSECRET', secretAccessKey: '' },
      });
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('AKIDSECRET');
    }
  });
});
