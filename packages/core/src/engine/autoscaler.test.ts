import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { Autoscaler } from './autoscaler.js';

/** Records `qps` requests per second over [from, to) and evaluates every `stepMs`. */
function drive(autoscaler: Autoscaler, from: number, to: number, qps: number, stepMs = 1_000) {
  const targets: number[] = [];
  for (let now = from; now < to; now += stepMs) {
    for (let index = 0; index < (qps * stepMs) / 1_000; index++) autoscaler.record(now);
    targets.push(autoscaler.evaluate(now));
  }
  return targets;
}

describe('Autoscaler', () => {
  it('without targetQpsPerReplica keeps the target at minReplicas', () => {
    const autoscaler = new Autoscaler({ minReplicas: 2, maxReplicas: 5 });
    expect(drive(autoscaler, 0, 600_000, 100).every((target) => target === 2)).toBe(true);
  });

  it('measures the rate over a sliding window', () => {
    const autoscaler = new Autoscaler({ minReplicas: 1, targetQpsPerReplica: 1, windowMs: 60_000 });
    for (let second = 0; second < 60; second++) {
      for (let index = 0; index < 3; index++) autoscaler.record(second * 1_000);
    }
    expect(autoscaler.qps(59_999)).toBeCloseTo(3, 5);
    // (30 s, 90 s] holds seconds 31..59: 29 × 3 requests over 60 s.
    expect(autoscaler.qps(90_000)).toBeCloseTo(1.45, 5);
    expect(autoscaler.qps(200_000)).toBe(0);
  });

  it('scales up only after the upscale delay and down only after the downscale delay', () => {
    const autoscaler = new Autoscaler({
      minReplicas: 1,
      maxReplicas: 10,
      targetQpsPerReplica: 2,
      upscaleDelayMs: 60_000,
      downscaleDelayMs: 120_000,
    });
    autoscaler.evaluate(0);
    const up = drive(autoscaler, 0, 200_000, 8); // wants 4
    const firstUp = up.findIndex((target) => target === 4);
    expect(firstUp).toBeGreaterThanOrEqual(60);
    expect(up.slice(0, 60).every((target) => target === 1)).toBe(true);
    const down = drive(autoscaler, 200_000, 500_000, 2); // wants 1
    const firstDown = down.findIndex((target) => target === 1);
    // The window must first forget the old rate, then 120 s of wanting fewer.
    expect(firstDown).toBeGreaterThanOrEqual(120);
    expect(down.at(-1)).toBe(1);
  });

  it('hysteresis: one opposite reading does not reset a long trend', () => {
    const autoscaler = new Autoscaler({
      minReplicas: 1,
      maxReplicas: 10,
      targetQpsPerReplica: 1,
      upscaleDelayMs: 60_000,
      windowMs: 1_000,
    });
    autoscaler.evaluate(0);
    // 50 s of wanting 3, one 10 s dip to wanting 1, then 3 again: the target moves after
    // 50 + 10 (the dip's own length) + 10 more seconds, not after another full minute.
    let now = 0;
    const step = (wanted: number) => {
      now += 10_000;
      for (let index = 0; index < wanted; index++) autoscaler.record(now - 500);
      return autoscaler.evaluate(now);
    };
    for (let index = 0; index < 5; index++) expect(step(3)).toBe(1);
    expect(step(1)).toBe(1); // the dip
    expect(step(3)).toBe(1);
    expect(step(3)).toBe(3); // 70 s after the trend began, not 120 s
  });

  it('scales from zero at once on the first request', () => {
    const autoscaler = new Autoscaler({
      minReplicas: 0,
      maxReplicas: 4,
      targetQpsPerReplica: 10,
      upscaleDelayMs: 300_000,
    });
    expect(autoscaler.evaluate(0)).toBe(0);
    autoscaler.record(1_000);
    expect(autoscaler.evaluate(1_000)).toBe(1);
  });

  it('clamps to the bounds', () => {
    const autoscaler = new Autoscaler({
      minReplicas: 1,
      maxReplicas: 3,
      targetQpsPerReplica: 1,
      upscaleDelayMs: 0,
    });
    autoscaler.evaluate(0);
    expect(drive(autoscaler, 0, 5_000, 100).at(-1)).toBe(3);
  });

  it('rejects bad options naming the option and the value', () => {
    expect(() => new Autoscaler({ minReplicas: -1 })).toThrowError(InvalidArgumentError);
    expect(() => new Autoscaler({ minReplicas: 3, maxReplicas: 2 })).toThrowError(
      /Expected `maxReplicas` to be an integer >= `minReplicas` \(3\), got `2` \(number\)/,
    );
    expect(() => new Autoscaler({ minReplicas: 1, targetQpsPerReplica: 0 })).toThrowError(
      /targetQpsPerReplica/,
    );
    expect(() => new Autoscaler({ minReplicas: 1, upscaleDelayMs: Number.NaN })).toThrowError(
      /upscaleDelayMs/,
    );
  });
});
