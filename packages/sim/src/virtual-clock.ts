/**
 * A virtual clock for the simulator's hot loop: time moves only through {@link
 * VirtualClock.set}, which fires due timers synchronously in order. Unlike the testing
 * `ManualClock` it does not yield to the event loop between timers (the simulator awaits
 * the engine itself), which keeps a tick down to microseconds.
 */
import { sleepOnClock } from '@spothedge/core';
import type { Clock, TimerHandle } from '@spothedge/core';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export class VirtualClock implements Clock {
  #now: number;
  #nextId = 1;
  /** Sorted by due time, then creation; the simulator keeps only a handful alive. */
  readonly #timers: Timer[] = [];

  constructor(options: { now?: number } = {}) {
    this.#now = options.now ?? 0;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, delayMs), callback };
    let index = this.#timers.length;
    while (index > 0 && this.#timers[index - 1]!.at > timer.at) index--;
    this.#timers.splice(index, 0, timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const index = this.#timers.findIndex((timer) => timer.id === handle.id);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepOnClock(this, delayMs, signal);
  }

  /** Moves time to `time` (never backwards), firing every timer due by then. */
  set(time: number): void {
    while (this.#timers.length > 0 && this.#timers[0]!.at <= time) {
      const timer = this.#timers.shift()!;
      this.#now = Math.max(this.#now, timer.at);
      timer.callback();
    }
    this.#now = Math.max(this.#now, time);
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }
}
