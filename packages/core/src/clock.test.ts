import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from './clock.js';
import { AbortedError } from './errors.js';

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('ManualClock', () => {
  it('starts at the given time and moves only when advanced, never backwards', async () => {
    const clock = new ManualClock({ now: 1_000 });
    expect(clock.now()).toBe(1_000);
    await clock.advance(500);
    expect(clock.now()).toBe(1_500);
    await clock.advanceTo(1_200);
    expect(clock.now()).toBe(1_500);
    expect(new ManualClock().now()).toBe(0);
  });

  it('fires timers in due order, ties in creation order, each at its due time', async () => {
    const clock = new ManualClock();
    const fired: [string, number][] = [];
    const record = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(record('c'), 300);
    clock.setTimeout(record('a1'), 100);
    clock.setTimeout(record('b'), 200);
    clock.setTimeout(record('a2'), 100);
    clock.setTimeout(record('late'), 1_000);
    expect(clock.pendingTimers).toBe(5);
    await clock.advance(300);
    expect(fired).toEqual([
      ['a1', 100],
      ['a2', 100],
      ['b', 200],
      ['c', 300],
    ]);
    expect(clock.now()).toBe(300);
    expect(clock.pendingTimers).toBe(1);
  });

  it('fires timers scheduled by callbacks within the same advance when they fall due', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 50);
      clock.setTimeout(() => fired.push(clock.now()), 500);
    }, 100);
    await clock.advance(200);
    expect(fired).toEqual([100, 150]);
    await clock.advance(400);
    expect(fired).toEqual([100, 150, 600]);
  });

  it('flushes promise continuations between timers, so async code sees a consistent timeline', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const worker = async () => {
      await clock.sleep(100);
      seen.push(`woke ${clock.now()}`);
      await Promise.resolve();
      await clock.sleep(100);
      seen.push(`woke ${clock.now()}`);
    };
    const done = worker();
    clock.setTimeout(() => seen.push(`timer ${clock.now()}`), 150);
    await clock.advance(250);
    await done;
    expect(seen).toEqual(['woke 100', 'timer 150', 'woke 200']);
  });

  it('clearTimeout cancels a timer; clearing twice or after firing is harmless', async () => {
    const clock = new ManualClock();
    let fired = 0;
    const cancelled = clock.setTimeout(() => (fired += 100), 100);
    const kept = clock.setTimeout(() => (fired += 1), 100);
    clock.clearTimeout(cancelled);
    clock.clearTimeout(cancelled);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(100);
    expect(fired).toBe(1);
    clock.clearTimeout(kept);
    expect(clock.pendingTimers).toBe(0);
    const reused = clock.setTimeout(() => (fired += 10), 0);
    await clock.advance(0);
    expect(fired).toBe(11);
    clock.clearTimeout(reused);
    expect(clock.pendingTimers).toBe(0);
  });

  it('sleep resolves once time reaches it, and rejects with AbortedError when aborted', async () => {
    const clock = new ManualClock();
    let slept = false;
    const sleeping = clock.sleep(1_000).then(() => (slept = true));
    await clock.advance(999);
    expect(slept).toBe(false);
    await clock.advance(1);
    await sleeping;
    expect(slept).toBe(true);

    const controller = new AbortController();
    const aborted = clock.sleep(1_000, controller.signal);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error('stop'));
    const error: unknown = await aborted.catch((caught: unknown) => caught);
    expect(AbortedError.isInstance(error)).toBe(true);
    expect((error as AbortedError).cause).toEqual(new Error('stop'));
    expect(clock.pendingTimers).toBe(0);

    await expect(clock.sleep(10, AbortSignal.abort())).rejects.toSatisfy((caught: unknown) =>
      AbortedError.isInstance(caught),
    );
    expect(clock.pendingTimers).toBe(0);
  });

  it('runAll fires every timer, chained ones too, and stops at limitMs of virtual time', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const chain = (left: number) => {
      fired.push(clock.now());
      if (left > 0) clock.setTimeout(() => chain(left - 1), 1_000);
    };
    clock.setTimeout(() => chain(3), 1_000);
    await clock.runAll();
    expect(fired).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect(clock.pendingTimers).toBe(0);

    const ticks: number[] = [];
    const tick = () => {
      ticks.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    await clock.runAll(350);
    expect(ticks).toEqual([4_100, 4_200, 4_300]);
    expect(clock.pendingTimers).toBe(1);
  });

  it('treats a negative delay as zero', async () => {
    const clock = new ManualClock({ now: 50 });
    let at = -1;
    clock.setTimeout(() => (at = clock.now()), -10);
    await clock.advance(0);
    expect(at).toBe(50);
  });
});

describe('SystemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = new SystemClock().now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('unrefs its timers so it never keeps the process alive', () => {
    const clock = new SystemClock();
    const before = activeTimeouts();
    const handle = clock.setTimeout(() => undefined, 60_000);
    expect(activeTimeouts()).toBe(before);
    // Control: a plain timer does keep the process alive and is counted.
    const plain = setTimeout(() => undefined, 60_000);
    expect(activeTimeouts()).toBe(before + 1);
    clearTimeout(plain);
    clock.clearTimeout(handle);
  });

  it('keeps the process alive while a sleep is awaited (counted as an active timer)', async () => {
    const clock = new SystemClock();
    const before = activeTimeouts();
    const sleeping = clock.sleep(20);
    // Synchronous, so no other timer of the worker can come or go in between.
    expect(activeTimeouts()).toBe(before + 1);
    await sleeping;
  });

  it('in a real process: awaited sleeps hold it, setTimeout timers and aborted sleeps do not', async () => {
    // Counting active timers after an await races with the worker's own timers; a child
    // process shows the behaviour deterministically: it must print both lines and exit
    // without waiting for the 60 s timer or the aborted 60 s sleep.
    const clockModule = new URL('./clock.ts', import.meta.url).href;
    const script = [
      `const { SystemClock } = await import(${JSON.stringify(clockModule)});`,
      'const clock = new SystemClock();',
      "clock.setTimeout(() => console.log('unref timer fired'), 60_000);",
      'const controller = new AbortController();',
      "const aborted = clock.sleep(60_000, controller.signal).catch(() => console.log('aborted'));",
      'controller.abort();',
      'await aborted;',
      'await clock.sleep(100);',
      "console.log('woke');",
    ].join('\n');
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '--eval', script],
        { cwd: fileURLToPath(new URL('../../../', import.meta.url)), timeout: 30_000 },
        (error, stdout, stderr) =>
          error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)),
      );
    });
    expect(output.trim().split('\n')).toEqual(['aborted', 'woke']);
  });

  it('fires timers, and clearTimeout cancels them', async () => {
    const clock = new SystemClock();
    const fired: string[] = [];
    const cancelled = clock.setTimeout(() => fired.push('cancelled'), 1);
    clock.setTimeout(() => fired.push('kept'), 1);
    clock.clearTimeout(cancelled);
    clock.clearTimeout(cancelled);
    await clock.sleep(20);
    expect(fired).toEqual(['kept']);
  });

  it('sleep rejects with AbortedError when aborted, before or while sleeping', async () => {
    const clock = new SystemClock();
    await expect(clock.sleep(60_000, AbortSignal.abort('early'))).rejects.toSatisfy(
      (error: unknown) => AbortedError.isInstance(error),
    );
    const controller = new AbortController();
    const sleeping = clock.sleep(60_000, controller.signal);
    setTimeout(() => controller.abort('late'), 1);
    const error: unknown = await sleeping.catch((caught: unknown) => caught);
    expect(AbortedError.isInstance(error)).toBe(true);
    expect((error as AbortedError).cause).toBe('late');
  });
});
