/**
 * Worker threads that simulate windows, one window per worker at a time, so an experiment
 * grid uses every core. Each window is independent and deterministic, so the results equal
 * a serial run's. Traces are sent to a worker once, on its first window of that trace.
 */
import { Worker } from 'node:worker_threads';
import { IllegalStateError, InvalidArgumentError, describeValue } from '@spothedge/core';
import type { PooledRun, WindowRequest } from './simulate-window.js';
import type { Timeline } from './timeline.js';
import type { SpotTrace } from './trace.js';

/** A window as sent to a worker. */
export interface RunRequest extends WindowRequest {
  readonly id: number;
  readonly traceKey: string;
}

export type WorkerRequest =
  | ({ readonly type: 'run' } & RunRequest)
  | { readonly type: 'trace'; readonly key: string; readonly trace: SpotTrace };

export type WorkerReply =
  | { readonly id: number; readonly timeline: Timeline; readonly runtimeMs: number }
  | { readonly id: number; readonly error: string };

interface Task {
  readonly trace: SpotTrace;
  readonly request: WindowRequest;
  readonly resolve: (run: PooledRun) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly traces: Set<string>;
  task: Task | undefined;
}

// From TypeScript sources (tests, the repository's own scripts) the worker registers tsx
// itself: a worker does not inherit the parent's module hooks.
const FROM_SOURCE = import.meta.url.endsWith('.ts');

function spawnWorker(): Worker {
  if (!FROM_SOURCE) return new Worker(new URL('./run-worker.js', import.meta.url));
  const entry = JSON.stringify(new URL('./run-worker.ts', import.meta.url).href);
  return new Worker(
    `import('tsx/esm/api').then((api) => { api.register(); return import(${entry}); })`,
    { eval: true, execArgv: ['--conditions=@spothedge/source'] },
  );
}

/** Options of {@link RunPool}. */
export interface RunPoolOptions {
  /** Worker threads at most (started on demand). */
  readonly jobs: number;
}

/**
 * A pool of simulation workers to share between {@link runExperiment} calls (pass it as
 * `pool`); `runExperiment({ jobs })` starts and closes one of its own. Close it when done:
 * its workers keep the process alive.
 *
 * @example
 * ```ts
 * const pool = new RunPool({ jobs: availableParallelism() });
 * try {
 *   for (const trace of traces) rows.push(...(await runExperiment({ trace, policies, pool })));
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export class RunPool {
  readonly #jobs: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  readonly #traceKeys = new WeakMap<SpotTrace, string>();
  #nextId = 0;
  #closed = false;

  constructor(options: RunPoolOptions) {
    const jobs = options.jobs;
    if (!Number.isInteger(jobs) || jobs < 1) {
      throw new InvalidArgumentError(
        `Expected \`jobs\` to be an integer >= 1, got ${describeValue(jobs)}`,
        { argument: 'jobs', value: jobs },
      );
    }
    this.#jobs = jobs;
  }

  /** Simulates one window on a worker (`runExperiment` calls this). */
  run(trace: SpotTrace, request: WindowRequest): Promise<PooledRun> {
    if (this.#closed) {
      return Promise.reject(new IllegalStateError('RunPool is closed', { state: 'closed' }));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ trace, request, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops every worker; windows not finished yet are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const task of this.#queue.splice(0)) {
      task.reject(new IllegalStateError('RunPool closed', { state: 'closed' }));
    }
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      let slot = this.#slots.find((candidate) => candidate.task === undefined);
      if (slot === undefined) {
        if (this.#slots.length >= this.#jobs) return;
        slot = this.#spawn();
      }
      const task = this.#queue.shift()!;
      slot.task = task;
      let key = this.#traceKeys.get(task.trace);
      if (key === undefined) {
        key = `trace-${this.#nextId++}`;
        this.#traceKeys.set(task.trace, key);
      }
      if (!slot.traces.has(key)) {
        slot.worker.postMessage({ type: 'trace', key, trace: task.trace } satisfies WorkerRequest);
        slot.traces.add(key);
      }
      slot.worker.postMessage({
        type: 'run',
        id: this.#nextId++,
        traceKey: key,
        ...task.request,
      } satisfies WorkerRequest);
    }
  }

  #spawn(): Slot {
    const slot: Slot = { worker: spawnWorker(), traces: new Set(), task: undefined };
    slot.worker.on('message', (reply: WorkerReply) => {
      const task = slot.task;
      slot.task = undefined;
      if ('error' in reply) task?.reject(new Error(reply.error));
      else task?.resolve({ timeline: reply.timeline, runtimeMs: reply.runtimeMs });
      this.#dispatch();
    });
    const lose = (error: Error) => {
      // A crashed worker fails its window; the others go on (a new worker replaces it).
      const index = this.#slots.indexOf(slot);
      if (index < 0) return;
      this.#slots.splice(index, 1);
      slot.task?.reject(error);
      slot.task = undefined;
      this.#dispatch();
    };
    slot.worker.on('error', lose);
    slot.worker.on('exit', (code) => lose(new Error(`simulation worker exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }
}
