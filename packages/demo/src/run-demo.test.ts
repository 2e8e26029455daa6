import { InvalidArgumentError } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { renderDemoReport } from './demo-report.js';
import { compressedPolicy, demoTrace, runDemo, type DemoFrame } from './run-demo.js';
import { renderFrame } from './terminal-view.js';

describe('demo (shortened)', () => {
  it('keeps serving through replayed preemptions and leaves no process behind', async () => {
    const frames: DemoFrame[] = [];
    const result = await runDemo({
      durationMs: 25_000,
      compression: 240,
      coldStartMs: 1_000,
      requestRate: 4,
      seed: 1,
      onFrame: (frame) => frames.push(frame),
    });
    expect(result.preemptions).toBeGreaterThanOrEqual(1);
    expect(result.requests).toBeGreaterThan(20);
    expect(result.failed / result.requests).toBeLessThanOrEqual(0.05);
    expect(result.availability).toBeGreaterThanOrEqual(0.6);
    expect(result.cost).toBeGreaterThan(0);
    expect(result.cost).toBeLessThan(1.5);
    expect(result.leakedProcesses).toBe(0);
    // The live view saw the fleet, and the report renders what happened.
    const last = frames.at(-1)!;
    expect(last.locations).toHaveLength(6);
    expect(renderFrame(last)).toContain('ready');
    const html = renderDemoReport(result);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  }, 90_000);

  it("runs the default policy's clocks as fast as the replayed trace", () => {
    const policy = compressedPolicy(1, 120);
    // 10 minutes of trace time: 5 s of demo time at one trace hour per 30 s.
    expect(policy.riskHalfLifeMs).toBe(5_000);
    expect(policy.failureCooldownMs).toBe(2_500);
    expect(policy.preemptionCooldownMs).toBe(5_000);
    expect(policy.savingsReserveMs).toBe(30_000);
    // Everything else is the default.
    expect(policy.overprovision).toBe(1);
    expect(policy.hotRisk).toBe(1);
  });

  it('rejects bad options before starting anything', async () => {
    await expect(runDemo({ durationMs: -1 })).rejects.toSatisfy(
      (error: unknown) => InvalidArgumentError.isInstance(error) && error.argument === 'durationMs',
    );
  });

  it('builds synthetic traces from busier settings, which a spec can change', () => {
    const plain = demoTrace('synthetic', 2);
    expect(plain.name).toBe('synthetic:1');
    expect(plain.zones.map((zone) => zone.location)).toHaveLength(6); // 2 regions × 3 zones
    expect(plain.zones[0]!.location).toBe('local/region-1/region-1a');
    expect(Math.max(...plain.zones.flatMap((zone) => Array.from(zone.capacity)))).toBe(3);
    expect(demoTrace('synthetic:1', 2).zones.map((zone) => Array.from(zone.capacity))).toEqual(
      plain.zones.map((zone) => Array.from(zone.capacity)),
    );
    const one = demoTrace('synthetic:1:regions=1:maxCapacity=5', 2);
    expect(one.zones).toHaveLength(3);
    expect(Math.max(...one.zones.flatMap((zone) => Array.from(zone.capacity)))).toBe(5);
    expect(() => demoTrace('synthetic:1:colour=red', 2)).toThrowError(/"colour=red"/);
  });
});
