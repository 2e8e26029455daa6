/**
 * `pnpm bench --filter router`: the router's overhead on the data path. Starts 3 replica
 * processes (small JSON answers) on 127.0.0.1 and measures, with a bounded undici-based
 * load generator:
 * - throughput and p50/p99 latency at 64 concurrent connections: direct to the replicas,
 *   through `Router.handler()` (a node:http server), and through `Router.fetch()` (called
 *   in-process, compared with undici called in-process);
 * - latency at a fixed 500 requests/s (open loop, measured from the scheduled send time),
 *   direct vs through the handler: the added p99.
 * Targets: handler throughput >= 70% of direct; added p99 <= 2 ms at 500 requests/s.
 * The HTTP load generator runs in a worker thread so it does not share the router's event
 * loop. Scenarios alternate over `ROUTER_BENCH_ROUNDS` rounds (default 3) of
 * `ROUTER_BENCH_MS` (default 3 000) after a 1 s warm-up; results are per-round medians.
 * The HTTP scenarios run first, the in-process ones (`fetch`) after them.
 *
 * On Linux each scenario also records on-CPU time per request of each thread that does
 * the work (from /proc/.../schedstat): the load generator's thread, the router's (this
 * process's main thread) and the replicas' — what bounds throughput on a small machine.
 * `minimalProxy` is the floor for this stack: node:http plus undici `dispatch` with no
 * balancing, header hygiene, failover or timeouts. `ROUTER_BENCH_BASELINE=<path to another
 * core src/index.ts>` adds `baselineHandler`/`baselineFetch` through that Router, measured
 * in the same rounds (before/after comparisons on a noisy machine).
 * Imports core's source directly: the repository root does not depend on the package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Router } from '../packages/core/src/index.js';
import type { ProxyHandler } from '../packages/core/src/index.js';
import { round, writeResult } from './results.js';

const CONNECTIONS = 64;
const WARMUP_MS = 1_000;
const MEASURE_MS = Number(process.env.ROUTER_BENCH_MS ?? 3_000);
const RATE = 500;
const ROUNDS = Number(process.env.ROUTER_BENCH_ROUNDS ?? 3);

const REPLICA_SOURCE = `
const http = require('node:http');
const body = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }] });
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

// The load generator, run in a worker: closed loop (N concurrent loops) or open loop (fixed rate).
const LOADGEN_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { Pool } = require(workerData.undiciPath);
const { readFileSync } = require('node:fs');
const { origins, connections, warmupMs, measureMs, rate } = workerData;
// On-CPU time of this thread in microseconds (Linux), undefined elsewhere.
function threadCpu() {
  try { return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000; } catch { return undefined; }
}
let cpuFrom;
const pools = origins.map((origin) => new Pool(origin, { connections: Math.ceil(connections / origins.length), pipelining: 1 }));
let next = 0;
// Tell the main thread when the measured window starts (it samples its CPU time then).
setTimeout(() => { cpuFrom = threadCpu(); parentPort.postMessage({ measuring: true }); }, warmupMs).unref();
async function once() {
  const pool = pools[next++ % pools.length];
  const { statusCode, body } = await pool.request({ path: '/v1/chat/completions', method: 'GET' });
  await body.dump();
  if (statusCode !== 200) throw new Error('status ' + statusCode);
}
async function closedLoop() {
  const latencies = [];
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + measureMs;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      try { await once(); } catch { errors++; continue; }
      if (sent >= measureFrom) latencies.push(performance.now() - sent);
    }
  }));
  return { latencies, errors, seconds: measureMs / 1000 };
}
async function openLoop() {
  const latencies = [];
  let errors = 0;
  const interval = 1000 / rate;
  const start = performance.now();
  const total = Math.floor(((warmupMs + measureMs) / 1000) * rate);
  const warmupCount = Math.floor((warmupMs / 1000) * rate);
  const pending = [];
  for (let index = 0; index < total; index++) {
    const scheduled = start + index * interval;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(once().then(
      () => { if (index >= warmupCount) latencies.push(performance.now() - scheduled); },
      () => { errors++; },
    ));
  }
  await Promise.all(pending);
  return { latencies, errors, seconds: measureMs / 1000 };
}
(rate ? openLoop() : closedLoop()).then(async (result) => {
  const cpuTo = threadCpu();
  await Promise.all(pools.map((pool) => pool.close()));
  parentPort.postMessage({ ...result, generatorCpuMicros: cpuFrom === undefined || cpuTo === undefined ? undefined : cpuTo - cpuFrom });
});
`;

/** On-CPU microseconds per request of the threads doing the work (Linux only). */
interface ThreadCpu {
  /** The load generator's worker thread. */
  loadGenerator: number;
  /** This process's main thread: the router (or reference proxy) under test. */
  router: number;
  /** The three replica processes' main threads together. */
  replicas: number;
}

interface LoadResult {
  latencies: number[];
  errors: number;
  seconds: number;
  /** CPU time of this whole process (router + load generator) per measured request. */
  cpuMicrosPerRequest?: number;
  threadCpuMicrosPerRequest?: ThreadCpu;
}

interface Scenario {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuMicrosPerRequest?: number;
  threadCpuMicrosPerRequest?: ThreadCpu;
}

// undici is core's dependency, not the root's: load it from core's point of view.
const requireFromCore = createRequire(new URL('../packages/core/package.json', import.meta.url));
const undiciPath = requireFromCore.resolve('undici');
interface UndiciPool {
  request(options: {
    path: string;
    method: 'GET';
    headers?: Record<string, string | string[] | undefined>;
  }): Promise<{
    statusCode?: number;
    headers: Record<string, string | string[] | undefined>;
    body: { dump(): Promise<void>; pipe(destination: NodeJS.WritableStream): void };
  }>;
  close(): Promise<void>;
}
const { Pool } = requireFromCore('undici') as {
  Pool: new (origin: string, options: { connections: number }) => UndiciPool;
};

/** On-CPU microseconds of one thread (`/proc/<pid>/task/<tid>/schedstat`), or undefined. */
function threadCpuMicros(pid: number, tid = pid): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    return Number(text.split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

let replicaPids: number[] = [];

/** Router thread and replica threads, summed per role. */
function sampleThreads(): { router?: number; replicas?: number } {
  const router = threadCpuMicros(process.pid);
  let replicas: number | undefined = 0;
  for (const pid of replicaPids) {
    const value = threadCpuMicros(pid);
    replicas = value === undefined || replicas === undefined ? undefined : replicas + value;
  }
  return { router, replicas };
}

function runWorker(origins: string[], rate?: number): Promise<LoadResult> {
  let cpuBefore = process.cpuUsage();
  let threadsBefore = sampleThreads();
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOADGEN_SOURCE, {
      eval: true,
      workerData: {
        undiciPath,
        origins,
        connections: CONNECTIONS,
        warmupMs: WARMUP_MS,
        measureMs: MEASURE_MS,
        rate,
      },
    });
    type Message = (LoadResult & { generatorCpuMicros?: number }) | { measuring: true };
    worker.on('message', (message: Message) => {
      if ('measuring' in message) {
        cpuBefore = process.cpuUsage();
        threadsBefore = sampleThreads();
        return;
      }
      const cpu = process.cpuUsage(cpuBefore);
      const threads = sampleThreads();
      const { generatorCpuMicros, ...result } = message;
      const count = result.latencies.length;
      const perRequest = (after?: number, before?: number) =>
        after === undefined || before === undefined ? undefined : (after - before) / count;
      const router = perRequest(threads.router, threadsBefore.router);
      const replicas = perRequest(threads.replicas, threadsBefore.replicas);
      resolve({
        ...result,
        cpuMicrosPerRequest: (cpu.user + cpu.system) / count,
        ...(generatorCpuMicros === undefined || router === undefined || replicas === undefined
          ? {}
          : {
              threadCpuMicrosPerRequest: {
                loadGenerator: generatorCpuMicros / count,
                router,
                replicas,
              },
            }),
      });
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function scenario(result: LoadResult): Scenario {
  const sorted = [...result.latencies].sort((a, b) => a - b);
  return {
    requestsPerSecond: Math.round(result.latencies.length / result.seconds),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    errors: result.errors,
    ...(result.cpuMicrosPerRequest === undefined
      ? {}
      : { cpuMicrosPerRequest: round(result.cpuMicrosPerRequest, 1) }),
    ...(result.threadCpuMicrosPerRequest === undefined
      ? {}
      : { threadCpuMicrosPerRequest: roundThreads(result.threadCpuMicrosPerRequest) }),
  };
}

function roundThreads(threads: ThreadCpu): ThreadCpu {
  return {
    loadGenerator: round(threads.loadGenerator, 1),
    router: round(threads.router, 1),
    replicas: round(threads.replicas, 1),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function medianScenario(results: readonly Scenario[]): Scenario {
  return {
    requestsPerSecond: median(results.map((result) => result.requestsPerSecond)),
    p50Ms: median(results.map((result) => result.p50Ms)),
    p99Ms: median(results.map((result) => result.p99Ms)),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    ...(results[0]?.cpuMicrosPerRequest === undefined
      ? {}
      : { cpuMicrosPerRequest: median(results.map((result) => result.cpuMicrosPerRequest!)) }),
    ...(results.some((result) => result.threadCpuMicrosPerRequest === undefined)
      ? {}
      : {
          threadCpuMicrosPerRequest: {
            loadGenerator: median(results.map((r) => r.threadCpuMicrosPerRequest!.loadGenerator)),
            router: median(results.map((r) => r.threadCpuMicrosPerRequest!.router)),
            replicas: median(results.map((r) => r.threadCpuMicrosPerRequest!.replicas)),
          },
        }),
  };
}

/** 64 concurrent loops in this thread, each awaiting `call()` (for in-process APIs). */
async function inProcessClosedLoop(call: () => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + MEASURE_MS;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const sent = performance.now();
        try {
          await call();
        } catch {
          errors++;
          continue;
        }
        if (sent >= measureFrom) latencies.push(performance.now() - sent);
      }
    }),
  );
  return { latencies, errors, seconds: MEASURE_MS / 1000 };
}

async function startReplica(): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, ['-e', REPLICA_SOURCE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', (code) => reject(new Error(`replica exited (${code})`)));
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

async function listen(listener: RequestListener): Promise<{ server: Server; origin: string }> {
  const server = createServer(listener);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface DispatchPool extends UndiciPool {
  dispatch(
    options: { path: string; method: string; headers: string[] },
    handler: {
      onConnect(abort: () => void): void;
      onHeaders(statusCode: number, headers: Buffer[], resume: () => void): boolean;
      onData(chunk: Buffer): boolean;
      onComplete(): void;
      onError(error: Error): void;
    },
  ): boolean;
}

/**
 * The floor for this stack: node:http in front, undici `dispatch` (native callbacks) behind,
 * round-robin, and nothing else — no balancing, header hygiene, failover or timeouts.
 */
function minimalProxy(pools: readonly DispatchPool[]): RequestListener {
  let next = 0;
  return (req, res) => {
    const raw = req.rawHeaders;
    const headers: string[] = [];
    for (let index = 0; index < raw.length; index += 2) {
      const name = raw[index]!.toLowerCase();
      if (name !== 'host' && name !== 'connection') headers.push(name, raw[index + 1]!);
    }
    pools[next++ % pools.length]!.dispatch(
      { path: req.url ?? '/', method: req.method ?? 'GET', headers },
      {
        onConnect() {},
        onHeaders(statusCode, rawHeaders) {
          const list: string[] = [];
          for (let index = 0; index < rawHeaders.length; index += 2) {
            const name = rawHeaders[index]!.toString('latin1');
            if (name.toLowerCase() !== 'connection' && name.toLowerCase() !== 'keep-alive') {
              list.push(name, rawHeaders[index + 1]!.toString('latin1'));
            }
          }
          res.writeHead(statusCode, list);
          return true;
        },
        onData: (chunk) => res.write(chunk),
        onComplete: () => res.end(),
        onError: () => res.destroy(),
      },
    );
  };
}

type RouterConstructor = new (options: { keepAliveTimeoutMs: number }) => {
  setReplicas(replicas: readonly object[]): void;
  handler(): ProxyHandler;
  fetch(input: string): Promise<Response>;
  destroy(): Promise<void>;
};

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const replicas = await Promise.all([startReplica(), startReplica(), startReplica()]);
  replicaPids = replicas.map((replica) => replica.child.pid!);
  const origins = replicas.map((replica) => replica.origin);
  const replicaSet = origins.map((origin, index) => ({
    id: `replica-${index}`,
    endpoint: origin,
    location: 'local/bench/a',
    capacityType: 'spot' as const,
  }));
  const router = new Router({ keepAliveTimeoutMs: 30_000 });
  router.setReplicas(replicaSet);
  const proxy = await listen(router.handler());

  // Optional: the same scenarios through another version of the Router, in the same rounds.
  const baselinePath = process.env.ROUTER_BENCH_BASELINE;
  const BaselineRouter =
    baselinePath === undefined
      ? undefined
      : ((await import(baselinePath)) as { Router: RouterConstructor }).Router;
  const baselineRouter = BaselineRouter && new BaselineRouter({ keepAliveTimeoutMs: 30_000 });
  baselineRouter?.setReplicas(replicaSet);
  const baseline = baselineRouter && (await listen(baselineRouter.handler()));

  // Reference: a proxy on undici's high-level request() with stream piping.
  const barePools = origins.map((origin) => new Pool(origin, { connections: CONNECTIONS }));
  let bareNext = 0;
  const bare = await listen((req, res) => {
    const { host: _host, connection: _connection, ...headers } = req.headers;
    barePools[bareNext++ % barePools.length]!.request({
      path: req.url ?? '/',
      method: 'GET',
      headers,
    }).then(
      ({ statusCode, headers: responseHeaders, body }) => {
        res.writeHead(statusCode ?? 200, responseHeaders);
        body.pipe(res);
      },
      () => res.destroy(),
    );
  });
  const minimalPools = origins.map(
    (origin) => new Pool(origin, { connections: CONNECTIONS }) as unknown as DispatchPool,
  );
  const minimal = await listen(minimalProxy(minimalPools));

  try {
    const pools = origins.map(
      (origin) => new Pool(origin, { connections: Math.ceil(CONNECTIONS / 3) }),
    );
    let next = 0;
    const runDirectInProcess = () =>
      inProcessClosedLoop(async () => {
        const { body } = await pools[next++ % pools.length]!.request({
          path: '/v1/chat/completions',
          method: 'GET',
        });
        await body.dump();
      });
    const runFetch = (through: { fetch(input: string): Promise<Response> }) => () =>
      inProcessClosedLoop(async () => {
        const response = await through.fetch('/v1/chat/completions');
        await response.arrayBuffer();
      });
    type Run = [string, () => Promise<LoadResult>];
    // Two phases: first everything over HTTP (the handler's figures come from a process
    // whose Router has served only the handler, like a host that mounts it), then the
    // in-process calls, whose `fetch` feedback would otherwise reach the shared exchange
    // code the handler runs.
    const overHttp: Run[] = [
      ['direct', () => runWorker(origins)],
      ['handler', () => runWorker([proxy.origin])],
      ...(baseline === undefined
        ? []
        : [['baselineHandler', () => runWorker([baseline.origin])] as Run]),
      ['minimalProxy', () => runWorker([minimal.origin])],
      ['bareProxy', () => runWorker([bare.origin])],
      ['directAtRate', () => runWorker(origins, RATE)],
      ['handlerAtRate', () => runWorker([proxy.origin], RATE)],
    ];
    const inProcess: Run[] = [
      ['directInProcess', runDirectInProcess],
      ['fetch', runFetch(router)],
      ...(baselineRouter === undefined ? [] : [['baselineFetch', runFetch(baselineRouter)] as Run]),
    ];
    const scenarios = [...overHttp, ...inProcess];
    // Within a phase, scenarios alternate round after round so drifting machine load hits
    // them alike; each figure below is the median over the rounds. Each round starts one
    // scenario later: on a shared machine the scenario after a saturating one runs while
    // other processes catch up on the CPU they were denied, and no scenario should always
    // be it.
    const rounds: Record<string, Scenario>[] = Array.from({ length: ROUNDS }, () => ({}));
    for (const phase of [overHttp, inProcess]) {
      for (let index = 0; index < ROUNDS; index++) {
        for (let step = 0; step < phase.length; step++) {
          const [name, run] = phase[(index + step) % phase.length]!;
          rounds[index]![name] = scenario(await run());
        }
      }
    }
    await Promise.all(pools.map((pool) => pool.close()));
    const closedLoop: Record<string, Scenario> = {};
    for (const [name] of scenarios) {
      if (name.endsWith('AtRate')) continue;
      closedLoop[name] = medianScenario(rounds.map((result) => result[name]!));
    }
    const handler = closedLoop.handler!;
    const directAtRate = medianScenario(rounds.map((result) => result.directAtRate!));
    const handlerAtRate = medianScenario(rounds.map((result) => result.handlerAtRate!));
    const shareOfDirect = (name: string) =>
      round(
        median(
          rounds.map(
            (result) => result[name]!.requestsPerSecond / result.direct!.requestsPerSecond,
          ),
        ),
        3,
      );
    const handlerShare = shareOfDirect('handler');
    const addedP99Ms = round(
      median(rounds.map((result) => result.handlerAtRate!.p99Ms - result.directAtRate!.p99Ms)),
    );
    // This process's CPU per request minus the load generator's (the direct run): the
    // proxy's cost plus whatever the generator costs more through it.
    const netOfDirect = (name: string) =>
      round(
        median(rounds.map((r) => r[name]!.cpuMicrosPerRequest! - r.direct!.cpuMicrosPerRequest!)),
        1,
      );
    const proxies = ['handler', 'baselineHandler', 'minimalProxy', 'bareProxy'].filter(
      (name) => closedLoop[name] !== undefined,
    );
    writeResult('router', {
      benchmark: 'router',
      replicas: 3,
      connections: CONNECTIONS,
      measureSeconds: MEASURE_MS / 1000,
      rounds: ROUNDS,
      response: 'small JSON (~130 bytes), GET',
      ...(baselinePath === undefined ? {} : { baseline: baselinePath }),
      closedLoop,
      proxyCpuMicrosPerRequest: Object.fromEntries(
        proxies.map((name) => [name, netOfDirect(name)]),
      ),
      // The router thread's own on-CPU time per request (Linux): the direct measure of the
      // proxy's cost, unaffected by the load generator running in the same process.
      ...(handler.threadCpuMicrosPerRequest === undefined
        ? {}
        : {
            routerThreadCpuMicrosPerRequest: Object.fromEntries(
              proxies.map((name) => [name, closedLoop[name]!.threadCpuMicrosPerRequest!.router]),
            ),
            // Share of the measured window each thread was on a CPU: near 1 means that thread
            // bounded the throughput; well below 1 for both, the machine (cores shared with
            // the replicas and other work) did.
            busyShare: Object.fromEntries(
              ['direct', ...proxies].map((name) => {
                const result = closedLoop[name]!;
                const busy = (micros: number) =>
                  round((micros * result.requestsPerSecond) / 1_000_000, 2);
                return [
                  name,
                  {
                    loadGenerator: busy(result.threadCpuMicrosPerRequest!.loadGenerator),
                    router: busy(result.threadCpuMicrosPerRequest!.router),
                  },
                ];
              }),
            ),
          }),
      handlerThroughputShareOfBareProxy: round(
        handler.requestsPerSecond / closedLoop.bareProxy!.requestsPerSecond,
        3,
      ),
      handlerThroughputShareOfMinimalProxy: round(
        handler.requestsPerSecond / closedLoop.minimalProxy!.requestsPerSecond,
        3,
      ),
      handlerThroughputShareOfDirect: handlerShare,
      minimalProxyThroughputShareOfDirect: shareOfDirect('minimalProxy'),
      ...(baseline === undefined
        ? {}
        : { baselineHandlerThroughputShareOfDirect: shareOfDirect('baselineHandler') }),
      fetchThroughputShareOfDirectInProcess: round(
        closedLoop.fetch!.requestsPerSecond / closedLoop.directInProcess!.requestsPerSecond,
        3,
      ),
      ...(baselineRouter === undefined
        ? {}
        : {
            baselineFetchThroughputShareOfDirectInProcess: round(
              closedLoop.baselineFetch!.requestsPerSecond /
                closedLoop.directInProcess!.requestsPerSecond,
              3,
            ),
          }),
      atFixedRate: {
        requestsPerSecond: RATE,
        direct: directAtRate,
        handler: handlerAtRate,
        addedP99Ms,
      },
      targets: {
        handlerThroughputShareAtLeast: 0.7,
        addedP99MsAtMost: 2,
        handlerThroughputMet: handlerShare >= 0.7,
        addedP99Met: addedP99Ms <= 2,
      },
      machine: {
        cpus: cpus().length,
        node: process.version,
        // Other work on the machine skews every number here; the 1-minute load average
        // before and after the run says how busy it was.
        loadAverageBefore: round(loadBefore, 2),
        loadAverageAfter: round(loadavg()[0]!, 2),
      },
    });
  } finally {
    for (const { server } of [proxy, bare, minimal, ...(baseline ? [baseline] : [])]) {
      server.closeAllConnections();
      server.close();
    }
    await Promise.all([...barePools, ...minimalPools].map((pool) => pool.close()));
    await router.destroy();
    await baselineRouter?.destroy();
    for (const replica of replicas) replica.child.kill('SIGKILL');
  }
}

await main();
