import { describe, expect, it } from 'vitest';
import type { CapacityType, InstanceState } from '@spothedge/core';
import { mapVmState } from './vm-state.js';
import { vmNameForKey } from './vm-name.js';

describe('mapVmState', () => {
  it.each<[string | undefined, string[], CapacityType, InstanceState, string | undefined]>([
    ['Creating', ['ProvisioningState/creating'], 'spot', 'pending', 'ProvisioningState/creating'],
    [
      'Creating',
      ['ProvisioningState/creating', 'PowerState/starting'],
      'spot',
      'pending',
      'PowerState/starting',
    ],
    [
      'Creating',
      ['ProvisioningState/creating', 'PowerState/running'],
      'spot',
      'pending',
      'PowerState/running',
    ],
    [
      'Succeeded',
      ['ProvisioningState/succeeded', 'PowerState/running'],
      'spot',
      'running',
      'PowerState/running',
    ],
    [
      'Updating',
      ['ProvisioningState/updating', 'PowerState/running'],
      'on-demand',
      'running',
      'PowerState/running',
    ],
    [
      'Succeeded',
      ['ProvisioningState/succeeded', 'PowerState/stopping'],
      'on-demand',
      'stopping',
      'PowerState/stopping',
    ],
    [
      'Succeeded',
      ['ProvisioningState/succeeded', 'PowerState/deallocating'],
      'spot',
      'stopping',
      'PowerState/deallocating',
    ],
    [
      'Succeeded',
      ['ProvisioningState/succeeded', 'PowerState/deallocated'],
      'spot',
      'preempted',
      'PowerState/deallocated',
    ],
    [
      'Succeeded',
      ['ProvisioningState/succeeded', 'PowerState/deallocated'],
      'on-demand',
      'terminated',
      'PowerState/deallocated',
    ],
    [
      'Succeeded',
      ['ProvisioningState/succeeded', 'PowerState/stopped'],
      'on-demand',
      'terminated',
      'PowerState/stopped',
    ],
    [
      'Deleting',
      ['ProvisioningState/deleting', 'PowerState/running'],
      'spot',
      'stopping',
      'ProvisioningState/deleting',
    ],
    [
      'Failed',
      ['ProvisioningState/failed/AllocationFailed'],
      'spot',
      'terminated',
      'ProvisioningState/failed/AllocationFailed',
    ],
    [
      'Succeeded',
      ['ProvisioningState/succeeded', 'PowerState/unknown'],
      'spot',
      'pending',
      'PowerState/unknown',
    ],
    [undefined, [], 'spot', 'pending', undefined],
  ])('%s %j (%s) → %s', (provisioningState, statusCodes, capacityType, state, reason) => {
    expect(mapVmState({ provisioningState, statusCodes, capacityType })).toEqual({ state, reason });
  });
});

describe('vmNameForKey', () => {
  it('prefixes short keys', () => {
    expect(vmNameForKey('spothedge', 'chat-r1')).toBe('spothedge-chat-r1');
  });

  it('shortens long keys deterministically with a hash, within 64 characters', () => {
    const key = 'a'.repeat(40) + '-' + 'b'.repeat(23);
    const name = vmNameForKey('spothedge', key);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toBe(vmNameForKey('spothedge', key));
    expect(name).not.toBe(vmNameForKey('spothedge', `${key.slice(0, -1)}c`));
    expect(name).toMatch(/^spothedge-a+-[0-9a-f]{12}$/);
  });
});
