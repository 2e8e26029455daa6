import { describe, expect, it } from 'vitest';
import { generateSyntheticTrace } from './synthetic-trace.js';

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
