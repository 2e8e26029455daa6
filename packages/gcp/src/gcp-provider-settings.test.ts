import { InvalidConfigError } from '@spothedge/core';
import { JWT, type AuthClient } from 'google-auth-library';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createGcpProvider } from './gcp-provider.js';
import type { GcpProviderSettings } from './gcp-provider-settings.js';
import { createStaticAuthClient, type GcpAuthClient } from './static-auth-client.js';

const valid: GcpProviderSettings = {
  project: 'my-project',
  zones: ['us-central1-a', 'europe-west4-b'],
  machineType: 'n2-standard-8',
  image: 'projects/debian-cloud/global/images/family/debian-12',
  authClient: createStaticAuthClient(),
};

describe('createGcpProvider settings', () => {
  it('accepts valid settings and derives locations gcp/<region>/<zone>', () => {
    const provider = createGcpProvider(valid);
    expect(provider.locations()).toEqual([
      {
        id: 'gcp/us-central1/us-central1-a',
        cloud: 'gcp',
        region: 'us-central1',
        zone: 'us-central1-a',
      },
      {
        id: 'gcp/europe-west4/europe-west4-b',
        cloud: 'gcp',
        region: 'europe-west4',
        zone: 'europe-west4-b',
      },
    ]);
    expect(provider.specificationVersion).toBe('v1');
    expect(provider.name).toBe('gcp');
  });

  const invalid: [string, Partial<Record<keyof GcpProviderSettings, unknown>>, string][] = [
    ['project', { project: 'X' }, 'project'],
    ['empty zones', { zones: [] }, 'zones'],
    ['bad zone', { zones: ['us-central1'] }, 'zones[0]'],
    ['duplicate zones', { zones: ['us-central1-a', 'us-central1-a'] }, 'zones'],
    ['machine type', { machineType: 'N2 Standard' }, 'machineType'],
    [
      'accelerator count',
      { accelerators: [{ type: 'nvidia-tesla-t4', count: 0 }] },
      'accelerators[0].count',
    ],
    ['image', { image: '' }, 'image'],
    ['disk size', { diskSizeGb: 1.5 }, 'diskSizeGb'],
    ['service account', { serviceAccount: { email: 'nope' } }, 'serviceAccount.email'],
    ['label key', { labels: { Team: 'ml' } }, 'labels.Team'],
    ['label value', { labels: { team: 'ML' } }, 'labels.team'],
    ['auth client', { authClient: {} }, 'authClient'],
    ['api endpoint', { apiEndpoint: 'http://' }, 'apiEndpoint'],
    ['replica port', { replicaPort: 70_000 }, 'replicaPort'],
    ['external endpoint without IP', { endpointAddress: 'external' }, 'endpointAddress'],
    ['name prefix', { instanceNamePrefix: '9lives' }, 'instanceNamePrefix'],
    ['price source', { pricing: { source: 'guess' } }, 'pricing.source'],
    [
      'negative override',
      { pricing: { overrides: { 'n2-standard-8': { spot: -1 } } } },
      'pricing.overrides.n2-standard-8.spot',
    ],
    ['unknown shape', { machineType: 'n2-custom-6-20480' }, 'pricing.machineShape'],
  ];

  it.each(invalid)('rejects a bad %s naming the setting and the value', (_, change, setting) => {
    let caught: unknown;
    try {
      createGcpProvider({ ...valid, ...change } as GcpProviderSettings);
    } catch (error) {
      caught = error;
    }
    expect(InvalidConfigError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ setting });
    expect((caught as Error).message).toContain(`\`${setting}\``);
  });

  it('accepts a custom machine type with its shape or a price override', () => {
    expect(() =>
      createGcpProvider({
        ...valid,
        machineType: 'n2-custom-6-20480',
        pricing: { machineShape: { vcpus: 6, memoryGb: 20 } },
      }),
    ).not.toThrow();
    expect(() =>
      createGcpProvider({
        ...valid,
        machineType: 'n2-custom-6-20480',
        pricing: { overrides: { 'n2-custom-6-20480': { spot: 0.1, 'on-demand': 0.3 } } },
      }),
    ).not.toThrow();
  });
});

describe('authClient type', () => {
  it('accepts google-auth-library clients', () => {
    // Constructed only, never used: creating a JWT client reads no credentials.
    const jwt = new JWT({ email: 'x@example.iam.gserviceaccount.com', key: 'not-a-key' });
    expectTypeOf(jwt).toExtend<GcpAuthClient>();
    expectTypeOf<AuthClient>().toExtend<GcpAuthClient>();
    expect(() => createGcpProvider({ ...valid, authClient: jwt })).not.toThrow();
  });
});
