import { OwnershipTag, replicaOwnershipTags } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { labelFilter, toLabelKey, toLabels, toLabelValue } from './gcp-labels.js';
import { deterministicUuid, instanceNameFor, isValidResourceName } from './instance-naming.js';
import { parseMachineShape } from './machine-shape.js';

describe('labels', () => {
  it('keeps valid ownership tags as they are', () => {
    const tags = replicaOwnershipTags({
      service: 'chat',
      replicaId: 'r-1',
      capacityType: 'on-demand',
    });
    expect(toLabels(tags)).toEqual(tags);
    expect(Object.values(OwnershipTag).every((key) => toLabelKey(key) === key)).toBe(true);
  });

  it('maps invalid values to distinct valid labels', () => {
    const long = 'A'.repeat(100);
    for (const value of ['My Service', 'my service', long, 'ünïcode', 'a.b/c']) {
      expect(toLabelValue(value)).toMatch(/^[a-z0-9_-]{0,63}$/);
    }
    expect(toLabelValue('My Service')).not.toBe(toLabelValue('my service'));
    expect(toLabelKey('9 Key')).toMatch(/^[a-z][a-z0-9_-]{0,62}$/);
  });

  it('builds a Compute Engine filter', () => {
    expect(labelFilter({ b: '2', a: '1' })).toBe('(labels.a = "1") AND (labels.b = "2")');
  });
});

describe('instance naming', () => {
  it('derives a deterministic version-5-style UUID request id', () => {
    const id = deterministicUuid('key-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicUuid('key-1')).toBe(id);
    expect(deterministicUuid('key-2')).not.toBe(id);
  });

  it('derives valid, deterministic instance names from any key', () => {
    expect(instanceNameFor('spothedge', 'chat-r-1')).toBe('spothedge-chat-r-1');
    const long = `svc-${'x'.repeat(60)}`;
    for (const key of [long, 'Upper_Case', 'ends-with-', '---']) {
      const name = instanceNameFor('spothedge', key);
      expect(isValidResourceName(name), name).toBe(true);
      expect(instanceNameFor('spothedge', key)).toBe(name);
    }
    expect(instanceNameFor('spothedge', `${long}a`)).not.toBe(
      instanceNameFor('spothedge', `${long}b`),
    );
  });
});

describe('machine shapes', () => {
  it('parses predefined machine types', () => {
    expect(parseMachineShape('n2-standard-8')).toEqual({ vcpus: 8, memoryGb: 32 });
    expect(parseMachineShape('n1-highmem-4')).toEqual({ vcpus: 4, memoryGb: 26 });
    expect(parseMachineShape('g2-standard-24')).toEqual({
      vcpus: 24,
      memoryGb: 96,
      gpus: [{ type: 'nvidia-l4', count: 2 }],
    });
    expect(parseMachineShape('a2-highgpu-2g')).toEqual({
      vcpus: 24,
      memoryGb: 170,
      gpus: [{ type: 'nvidia-tesla-a100', count: 2 }],
    });
    expect(parseMachineShape('e2-medium')).toEqual({ vcpus: 2, memoryGb: 4 });
    expect(parseMachineShape('n2-custom-6-20480')).toBeUndefined();
  });
});
