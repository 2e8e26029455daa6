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
 * Imports core's source directly: the repository root does not depend on the package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Router } from '../packages/core/src/index.js';
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
const { origins, connections, warmupMs, measureMs, rate } = workerData;
const pools = origins.map((origin) => new Pool(origin, { connections: Math.ceil(connections / origins.length), pipelining: 1 }));
let next = 0;
// Tell the main thread when the measured window starts (it samples its CPU time then).
setTimeout(() => parentPort.postMessage({ measuring: true }), warmupMs).unref();
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
  await Promise.all(pools.map((pool) => pool.close()));
  parentPort.postMessage(result);
});
`;

interface LoadResult {
  latencies: number[];
  errors: number;
  seconds: number;
  /** CPU time of this whole process (router + load generator) per measured request. */
  cpuMicrosPerRequest?: number;
}

interface Scenario {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuMicrosPerRequest?: number;
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

function runWorker(origins: string[], rate?: number): Promise<LoadResult> {
  let cpuBefore = process.cpuUsage();
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
    worker.on('message', (message: LoadResult | { measuring: true }) => {
      if ('measuring' in message) {
        cpuBefore = process.cpuUsage();
        return;
      }
      const cpu = process.cpuUsage(cpuBefore);
      const result = message;
      resolve({
        ...result,
        cpuMicrosPerRequest: (cpu.user + cpu.system) / result.latencies.length,
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

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const replicas = await Promise.all([startReplica(), startReplica(), startReplica()]);
  const origins = replicas.map((replica) => replica.origin);
  const router = new Router({ keepAliveTimeoutMs: 30_000 });
  router.setReplicas(
    origins.map((origin, index) => ({
      id: `replica-${index}`,
      endpoint: origin,
      location: 'local/bench/a',
      capacityType: 'spot' as const,
    })),
  );
  const server: Server = createServer(router.handler());
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxyOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Reference floor: the least a proxy can do per request (no balancing, no header
  // hygiene, no failover), to tell the router's own cost from the cost of a second hop.
  const barePools = origins.map((origin) => new Pool(origin, { connections: CONNECTIONS }));
  let bareNext = 0;
  const bare: Server = createServer((req, res) => {
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
  bare.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareOrigin = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

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
    const runFetch = () =>
      inProcessClosedLoop(async () => {
        const response = await router.fetch('/v1/chat/completions');
        await response.arrayBuffer();
      });
    // Scenarios alternate, round after round, so drifting machine load hits them alike;
    // each figure below is the median over the rounds.
    const rounds: Record<string, Scenario>[] = [];
    for (let index = 0; index < ROUNDS; index++) {
      rounds.push({
        direct: scenario(await runWorker(origins)),
        handler: scenario(await runWorker([proxyOrigin])),
        bareProxy: scenario(await runWorker([bareOrigin])),
        directInProcess: scenario(await runDirectInProcess()),
        fetch: scenario(await runFetch()),
        directAtRate: scenario(await runWorker(origins, RATE)),
        handlerAtRate: scenario(await runWorker([proxyOrigin], RATE)),
      });
    }
    await Promise.all(pools.map((pool) => pool.close()));
    const direct = medianScenario(rounds.map((result) => result.direct!));
    const handler = medianScenario(rounds.map((result) => result.handler!));
    const bareProxy = medianScenario(rounds.map((result) => result.bareProxy!));
    const directInProcess = medianScenario(rounds.map((result) => result.directInProcess!));
    const fetchThroughRouter = medianScenario(rounds.map((result) => result.fetch!));
    const directAtRate = medianScenario(rounds.map((result) => result.directAtRate!));
    const handlerAtRate = medianScenario(rounds.map((result) => result.handlerAtRate!));
    const handlerShare = round(
      median(
        rounds.map(
          (result) => result.handler!.requestsPerSecond / result.direct!.requestsPerSecond,
        ),
      ),
      3,
    );
    const addedP99Ms = round(
      median(rounds.map((result) => result.handlerAtRate!.p99Ms - result.directAtRate!.p99Ms)),
    );
    writeResult('router', {
      benchmark: 'router',
      replicas: 3,
      connections: CONNECTIONS,
      measureSeconds: MEASURE_MS / 1000,
      rounds: ROUNDS,
      response: 'small JSON (~130 bytes), GET',
      closedLoop: { direct, handler, bareProxy, directInProcess, fetch: fetchThroughRouter },
      // This process's CPU per request minus the load generator's (the direct run): what the
      // proxy itself costs, much less sensitive to other load on the machine than req/s.
      proxyCpuMicrosPerRequest: {
        handler: round(
          median(
            rounds.map((r) => r.handler!.cpuMicrosPerRequest! - r.direct!.cpuMicrosPerRequest!),
          ),
          1,
        ),
        bareProxy: round(
          median(
            rounds.map((r) => r.bareProxy!.cpuMicrosPerRequest! - r.direct!.cpuMicrosPerRequest!),
          ),
          1,
        ),
      },
      handlerThroughputShareOfBareProxy: round(
        handler.requestsPerSecond / bareProxy.requestsPerSecond,
        3,
      ),
      handlerThroughputShareOfDirect: handlerShare,
      fetchThroughputShareOfDirectInProcess: round(
        fetchThroughRouter.requestsPerSecond / directInProcess.requestsPerSecond,
        3,
      ),
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
    server.closeAllConnections();
    server.close();
    bare.closeAllConnections();
    bare.close();
    await Promise.all(barePools.map((pool) => pool.close()));
    await router.destroy();
    for (const replica of replicas) replica.child.kill('SIGKILL');
  }
}

await main();
