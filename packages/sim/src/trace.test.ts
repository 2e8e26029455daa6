import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { hasSharedTraces, sharedTracePath } from './shared-data.js';
import { UNLIMITED_CAPACITY, loadTrace, sliceTrace, zoneLocation } from './trace.js';

function traceFolder(files: Record<string, unknown>): string {
  const folder = join(mkdtempSync(join(tmpdir(), 'sim-trace-')), 'demo');
  mkdirSync(folder);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(
      join(folder, name),
      typeof content === 'string' ? content : JSON.stringify(content),
    );
  }
  return folder;
}

describe('loadTrace', () => {
  it('splits each point into gap/tick ticks and cuts zones to the common span', () => {
    const path = traceFolder({
      'us-east-1a_v100_1.json': { metadata: { gap_seconds: 90 }, data: [1, 2, 3] },
      'us-east-1b_v100_1.json': { metadata: { gap_seconds: 60 }, data: [4, 0, 4, 0, 4] },
    });
    const trace = loadTrace({ path });
    expect(trace.ticks).toBe(9); // min(3·90, 5·60) = 270 s
    expect(Array.from(trace.zones[0]!.capacity)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3]);
    expect(Array.from(trace.zones[1]!.capacity)).toEqual([4, 4, 0, 0, 4, 4, 0, 0, 4]);
    expect(trace.zones[0]!.location).toBe('aws/us-east-1/us-east-1a');
    expect(trace.values).toBe('count');
  });

  it('resamples gaps that are not a multiple of the tick by time', () => {
    const path = traceFolder({
      'z1-a_x.json': { metadata: { gap_seconds: 32 }, data: [1, 2, 3, 4] },
    });
    const trace = loadTrace({ path });
    expect(trace.ticks).toBe(4); // 128 s
    expect(Array.from(trace.zones[0]!.capacity)).toEqual([1, 1, 2, 3]);
  });

  it('reads `available` values from the manifest, and a flag overrides it', () => {
    const path = traceFolder({
      'trace.json': { values: 'available' },
      'us-west-2a_v100_1.json': { metadata: { gap_seconds: 30 }, data: [1, 0, 1] },
    });
    const available = loadTrace({ path });
    expect(available.values).toBe('available');
    expect(Array.from(available.zones[0]!.capacity)).toEqual([
      UNLIMITED_CAPACITY,
      0,
      UNLIMITED_CAPACITY,
    ]);
    const counted = loadTrace({ path, values: 'count' });
    expect(Array.from(counted.zones[0]!.capacity)).toEqual([1, 0, 1]);
  });

  it('names the file and the index of a bad value', () => {
    const path = traceFolder({
      'us-east-1a_v100_1.json': { metadata: { gap_seconds: 30 }, data: [1, 2, -1] },
    });
    expect(() => loadTrace({ path })).toThrow(/data\[2\].*us-east-1a_v100_1\.json.*`-1`/);
    try {
      loadTrace({ path });
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe('data[2]');
    }
  });

  it('rejects a missing gap, a bad manifest and an empty folder', () => {
    expect(() => loadTrace({ path: traceFolder({ 'a1-a.json': { data: [1] } }) })).toThrow(
      /gap_seconds/,
    );
    expect(() =>
      loadTrace({
        path: traceFolder({
          'trace.json': { values: 'many' },
          'a1-a.json': { metadata: { gap_seconds: 30 }, data: [1] },
        }),
      }),
    ).toThrow(/"many"/);
    expect(() => loadTrace({ path: traceFolder({}) })).toThrow(/found none/);
    expect(() => loadTrace({ path: '/nonexistent/trace' })).toThrow(InvalidArgumentError);
  });

  it('slices windows and guesses location ids', () => {
    const path = traceFolder({
      'us-central1-b_a100.json': { metadata: { gap_seconds: 30 }, data: [0, 1, 2, 3] },
    });
    const window = sliceTrace(loadTrace({ path }), 1, 2);
    expect(Array.from(window.zones[0]!.capacity)).toEqual([1, 2]);
    expect(() => sliceTrace(loadTrace({ path }), 3, 2)).toThrow(/fit/);
    expect(zoneLocation('us-central1-b')).toBe('gcp/us-central1/us-central1-b');
    expect(zoneLocation('eu-west-1c')).toBe('aws/eu-west-1/eu-west-1c');
  });
});

describe.skipIf(!hasSharedTraces)(
  'shared traces (skipped: ../shared/traces not found beside the repo)',
  () => {
    it('loads aws1, aws3 and gcp1 with their manifests', () => {
      const aws1 = loadTrace({ path: sharedTracePath('aws1') });
      expect(aws1.zones).toHaveLength(3);
      expect(aws1.ticks).toBe(31_560);
      const aws3 = loadTrace({ path: sharedTracePath('aws3') });
      expect(aws3.values).toBe('available');
      expect(aws3.zones).toHaveLength(9);
      const gcp1 = loadTrace({ path: sharedTracePath('gcp1') });
      expect(gcp1.ticks).toBe(3_850);
      expect(gcp1.zones.map((zone) => zone.location)).toContain('gcp/us-east1/us-east1-b');
    });
  },
);
