/**
 * Time, injected. Everything in the SDK that reads the time or waits goes through a
 * {@link Clock}, so the same engine runs on the wall clock in production and on a
 * virtual clock in tests and in the simulator.
 */
import { AbortedError } from './errors.js';

/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the epoch (or since the start of a virtual timeline). */
  now(): number;
  /**
   * Calls `callback` after `delayMs`. Timers never keep the host process alive
   * (they are unref'd on the system clock).
   */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Resolves after `delayMs`; rejects with {@link AbortedError} if `signal` fires first. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Sleeps on any clock's timers: resolves after `delayMs` of that clock's time, rejects with
 * {@link AbortedError} if `signal` fires first. For implementers of {@link Clock}.
 */
export function sleepOnClock(
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
  delayMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError('Sleep aborted', { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(new AbortedError('Sleep aborted', { cause: signal?.reason }));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The wall clock. Timers from `setTimeout` are unref'd so an embedded SDK never holds the
 * process open in the background; awaited sleeps do hold it (see {@link SystemClock.sleep}).
 */
export class SystemClock implements Clock {
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
  #nextId = 1;

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    const timer = setTimeout(
      () => {
        this.#timers.delete(id);
        callback();
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    this.#timers.set(id, timer);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = this.#timers.get(handle.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#timers.delete(handle.id);
    }
  }

  /**
   * Unlike {@link SystemClock.setTimeout}, a sleep keeps the process alive: someone awaits
   * it (a drain in `stop()`, a retry backoff), and a host awaiting `stop()` must not exit
   * halfway with replicas still running.
   */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError('Sleep aborted', { cause: signal.reason }));
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(new AbortedError('Sleep aborted', { cause: signal?.reason }));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, delayMs),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

interface ManualTimer {
  readonly id: number;
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** Resolves after every queued microtask and promise continuation has run. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A virtual clock for tests and simulation: time moves only when you call
 * {@link ManualClock.advance}. Timers fire in order of due time (then creation order),
 * each with `now()` equal to its due time, and pending promise work is flushed between
 * timers so async code observes a consistent timeline.
 *
 * @example
 * ```ts
 * const clock = new ManualClock({ now: 0 });
 * const done = clock.sleep(1_000);
 * await clock.advance(1_000); // `done` resolves
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #nextId = 1;
  // A small binary heap keyed by (at, seq): the simulator schedules many timers.
  readonly #heap: ManualTimer[] = [];
  readonly #cancelled = new Set<number>();
  readonly #live = new Set<number>();

  constructor(options: { now?: number } = {}) {
    this.#now = options.now ?? 0;
  }

  now(): number {
    return this.#now;
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#live.size;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#live.add(id);
    this.#push({ id, at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    if (this.#live.delete(handle.id)) this.#cancelled.add(handle.id);
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepOnClock(this, delayMs, signal);
  }

  /** Moves time forward by `deltaMs`, firing every timer due on the way. */
  async advance(deltaMs: number): Promise<void> {
    await this.advanceTo(this.#now + deltaMs);
  }

  /** Moves time forward to `time`, firing every timer due on the way. */
  async advanceTo(time: number): Promise<void> {
    await flushMicrotasks();
    for (;;) {
      const next = this.#heap[0];
      if (next === undefined || next.at > time) break;
      this.#pop();
      if (this.#cancelled.delete(next.id)) continue;
      this.#live.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await flushMicrotasks();
    }
    this.#now = Math.max(this.#now, time);
  }

  /** Fires timers until none is left or `limitMs` of virtual time has passed. */
  async runAll(limitMs = Number.POSITIVE_INFINITY): Promise<void> {
    const end = this.#now + limitMs;
    while (this.pendingTimers > 0) {
      const next = this.#heap[0];
      if (next === undefined || next.at > end) break;
      await this.advanceTo(next.at);
    }
  }

  #push(timer: ManualTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) break;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  }
}

function before(a: ManualTimer, b: ManualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
