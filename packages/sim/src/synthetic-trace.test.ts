import { InvalidArgumentError } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { generateSyntheticTrace, syntheticTraceFromSpec } from './synthetic-trace.js';

describe('generateSyntheticTrace', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = generateSyntheticTrace({ seed: 3, hours: 24 });
    const b = generateSyntheticTrace({ seed: 3, hours: 24 });
    const c = generateSyntheticTrace({ seed: 4, hours: 24 });
    expect(a.zones.map((zone) => Array.from(zone.capacity))).toEqual(
      b.zones.map((zone) => Array.from(zone.capacity)),
    );
    expect(a.zones.map((zone) => Array.from(zone.capacity))).not.toEqual(
      c.zones.map((zone) => Array.from(zone.capacity)),
    );
    expect(a.ticks).toBe(2880);
    expect(a.zones).toHaveLength(9);
  });

  it('stays within [0, maxCapacity] and has correlated regional outages', () => {
    const trace = generateSyntheticTrace({
      seed: 1,
      hours: 96,
      outagesPerDay: 2,
      outageCorrelation: 1,
    });
    let together = 0;
    const values = trace.zones.flatMap((zone) => Array.from(zone.capacity));
    expect(Math.min(...values)).toBe(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(4);
    // With correlation 1, the zones of region 1 are all at 0 together during outages.
    const region = trace.zones.slice(0, 3);
    for (let tick = 0; tick < trace.ticks; tick++) {
      if (region.every((zone) => zone.capacity[tick] === 0)) together++;
    }
    expect(together).toBeGreaterThan(60);
  });

  it('rejects bad parameters naming them', () => {
    expect(() => generateSyntheticTrace({ regions: 1.5 })).toThrow(/`regions`/);
    expect(() => generateSyntheticTrace({ hours: -1 })).toThrow(/`hours`/);
  });
});

describe('syntheticTraceFromSpec', () => {
  it('builds the trace a spec names, settings included', () => {
    const trace = syntheticTraceFromSpec('synthetic:11:regions=2:zonesPerRegion=2:maxCapacity=2', {
      hours: 24,
    })!;
    expect(trace.name).toBe('synthetic:11:regions=2:zonesPerRegion=2:maxCapacity=2');
    expect(trace.zones).toHaveLength(4);
    expect(Math.max(...trace.zones.flatMap((zone) => Array.from(zone.capacity)))).toBe(2);
    expect(trace.zones.map((zone) => Array.from(zone.capacity))).toEqual(
      generateSyntheticTrace({
        seed: 11,
        hours: 24,
        regions: 2,
        zonesPerRegion: 2,
        maxCapacity: 2,
      }).zones.map((zone) => Array.from(zone.capacity)),
    );
    // A bare seed is the generator's defaults.
    expect(syntheticTraceFromSpec('synthetic:11', { hours: 24 })!.zones).toHaveLength(9);
  });

  it('leaves other specs alone', () => {
    expect(syntheticTraceFromSpec('../shared/traces/aws1')).toBeUndefined();
  });

  it('names a bad seed, an unknown setting or a bad value, with a typed error', () => {
    const bad: Array<[string, RegExp]> = [
      ['synthetic:x', /synthetic:SEED.*"synthetic:x"/],
      ['synthetic:1:zones=2', /name among regions, zonesPerRegion.*"zones=2"/],
      ['synthetic:1:regions', /name=value.*"regions"/],
      ['synthetic:1:regions=two', /`regions`.*"two"/],
      ['synthetic:1:regions=', /`regions`.*""/],
      ['synthetic:1:regions=1.5', /`regions`.*1\.5/],
    ];
    for (const [spec, message] of bad) {
      let caught: unknown;
      try {
        syntheticTraceFromSpec(spec, { hours: 1 });
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), spec).toBe(true);
      expect((caught as Error).message, spec).toMatch(message);
    }
  });
});
