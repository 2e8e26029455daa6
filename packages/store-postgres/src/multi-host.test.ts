// Three host processes serving one service through one PostgreSQL: leader failover,
// fencing of a paused leader, concurrent migrations, loss of the database.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwnershipTag } from '@spothedge/core';
import type { HostConfig } from './fixtures/host.js';
import { SharedFakeProvider } from './fixtures/shared-fake-provider.js';
import { PostgresStateStore } from './postgres-state-store.js';
import { startPostgresCluster } from './testing/postgres-cluster.js';
import type { PostgresCluster } from './testing/postgres-cluster.js';

const tsx = import.meta.resolve('tsx');
const hostScript = fileURLToPath(new URL('./fixtures/host.ts', import.meta.url));

interface HostMessage {
  readonly type: string;
  readonly epoch?: number;
  readonly replicaId?: string;
  readonly error?: string;
  readonly leader?: boolean;
  readonly ready?: string[];
  readonly qps?: number;
  readonly port?: number;
}

interface Host {
  readonly name: string;
  readonly child: ChildProcess;
  readonly messages: HostMessage[];
  port: number;
  /** The last status line. */
  status: HostMessage | undefined;
  send(command: string): void;
  exited: Promise<void>;
}

let cluster: PostgresCluster;
let replicaServer: Server;
let endpointBase: string;
let directory: string;
let runs = 0;
const hosts: Host[] = [];

beforeAll(async () => {
  cluster = await startPostgresCluster();
  directory = mkdtempSync(join(tmpdir(), 'spothedge-multi-host-'));
  // Every replica endpoint (`/<instance id>/...`) is served here.
  replicaServer = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end(request.url);
  });
  await new Promise<void>((resolve) => replicaServer.listen(0, '127.0.0.1', resolve));
  const address = replicaServer.address();
  endpointBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);

async function killAll(): Promise<void> {
  cluster?.resume();
  for (const host of hosts.splice(0)) {
    host.child.kill('SIGCONT');
    host.child.kill('SIGKILL');
    await host.exited;
  }
}

afterAll(async () => {
  await killAll();
  await new Promise((resolve) => replicaServer?.close(resolve));
  await cluster?.stop();
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

async function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

function startHost(name: string, config: Omit<HostConfig, 'holder'>): Host {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@spothedge/source',
      '--import',
      tsx,
      hostScript,
      JSON.stringify({ ...config, holder: name }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const host: Host = {
    name,
    child,
    messages: [],
    port: 0,
    status: undefined,
    send: (command) => child.stdin?.write(`${command}\n`),
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  let errors = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    errors = (errors + chunk).slice(-4_000);
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) console.error(`host ${name} exited ${code}: ${errors}`);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: HostMessage;
    try {
      message = JSON.parse(line) as HostMessage;
    } catch {
      return;
    }
    if (message.type === 'status') host.status = message;
    else host.messages.push(message);
    if (message.type === 'listening') host.port = message.port!;
  });
  hosts.push(host);
  return host;
}

function setup(count: number, options: Partial<HostConfig> = {}) {
  const run = ++runs;
  const config: Omit<HostConfig, 'holder'> = {
    connectionString: cluster.connectionString,
    schema: `multi_${run}`,
    storagePath: join(directory, `cloud-${run}.json`),
    endpointBase,
    ttlMs: 1_500,
    tickIntervalMs: 200,
    replicas: 3,
    launchLatencyMs: 300,
    ...options,
  };
  const started = Array.from({ length: count }, (_, index) =>
    startHost(`host-${run}-${index + 1}`, config),
  );
  const cloud = new SharedFakeProvider({ storagePath: config.storagePath, endpointBase });
  return { config, hosts: started, cloud };
}

const has = (host: Host, type: string) => host.messages.some((message) => message.type === type);
const routes = (host: Host, count: number) => host.status?.ready?.length === count;

async function alive(cloud: SharedFakeProvider) {
  return (await cloud.instances()).filter(
    (instance) => instance.state === 'pending' || instance.state === 'running',
  );
}

/** No replica id was ever launched twice (ended instances included). */
async function expectNoTwins(cloud: SharedFakeProvider): Promise<void> {
  const replicaIds = (await cloud.instances()).map(
    (instance) => instance.tags[OwnershipTag.Replica],
  );
  expect(new Set(replicaIds).size).toBe(replicaIds.length);
}

async function get(host: Host, path: string): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${host.port}${path}`);
    await response.text();
    return response.status;
  } catch {
    return 0;
  }
}

/** Sends requests to `targets` until stopped; resolves the status codes. */
function trafficTo(targets: readonly Host[]) {
  const codes: number[] = [];
  let running = true;
  const done = (async () => {
    for (let index = 0; running; index++) {
      codes.push(await get(targets[index % targets.length]!, `/v1/echo/${index}`));
      await delay(20);
    }
  })();
  return {
    codes,
    async stop() {
      running = false;
      await done;
      return codes;
    },
  };
}

/** Stops `others` (releasing any lease they hold), then `last` terminates the fleet. */
async function stopAll(last: Host, others: readonly Host[]): Promise<void> {
  for (const host of others) host.send('stop');
  await Promise.all(others.map((host) => host.exited));
  last.send('stop-terminate');
  await last.exited;
}

describe('three hosts, one PostgreSQL (the tests run in order on the same hosts)', () => {
  let started: Host[];
  let cloud: SharedFakeProvider;
  let schema: string;

  beforeAll(async () => {
    // Three hosts start at once on an empty schema: the migrations run concurrently.
    const setUp = setup(3);
    started = setUp.hosts;
    cloud = setUp.cloud;
    schema = setUp.config.schema;
    await until(() => started.every((host) => routes(host, 3)), 'every host to route 3 replicas');
  }, 90_000);

  it('the leader is SIGKILLed during launches: another takes over, no twins, no leaks, routing goes on', async () => {
    for (const host of started) {
      expect(host.messages.filter((message) => message.type === 'start-fail')).toEqual([]);
    }
    const leader = await until(
      () => started.find((host) => host.status?.leader === true),
      'a leader',
    );
    const survivors = started.filter((host) => host !== leader);
    const traffic = trafficTo(survivors);
    await until(() => traffic.codes.length >= 5, 'traffic to flow');

    // The cloud reclaims a replica; kill the leader right as it launches the replacement.
    const victim = (await alive(cloud))[0]!;
    await cloud.terminate({ instanceId: victim.id, tags: victim.tags });
    const launchesBefore = leader.messages.filter((m) => m.type === 'replica-launch').length;
    await until(
      () => leader.messages.filter((m) => m.type === 'replica-launch').length > launchesBefore,
      'the leader to launch a replacement',
    );
    leader.child.kill('SIGKILL');
    await leader.exited;

    const next = await until(
      () => survivors.find((host) => has(host, 'lease-acquire')),
      'a survivor to take the lease',
    );
    await until(
      async () => survivors.every((host) => routes(host, 3)) && (await alive(cloud)).length === 3,
      'three ready replicas again',
    );
    const codes = await traffic.stop();
    expect(codes.length).toBeGreaterThan(5);
    expect(codes.filter((code) => code !== 200)).toEqual([]);
    await expectNoTwins(cloud);
    const aliveIds = (await alive(cloud)).map((instance) => instance.tags[OwnershipTag.Replica]);
    expect(aliveIds.sort()).toEqual([...next.status!.ready!].sort());

    started = survivors; // the next tests go on with these two
  });

  it('a leader paused past its lease cannot act when resumed and steps down (fencing)', async () => {
    const leader = await until(
      () => started.find((host) => host.status?.leader === true),
      'a leader',
    );
    const other = started.find((host) => host !== leader)!;
    const epoch = leader.messages.find((message) => message.type === 'lease-acquire')!.epoch!;
    leader.child.kill('SIGSTOP');
    const taken = await until(
      () => other.messages.find((message) => message.type === 'lease-acquire'),
      'the other host to take the lease',
    );
    expect(taken.epoch).toBeGreaterThan(epoch);
    // While the old leader sleeps, the cloud changes: only the new leader may react.
    const victim = (await alive(cloud))[0]!;
    await cloud.terminate({ instanceId: victim.id, tags: victim.tags });
    const seen = leader.messages.length;
    leader.child.kill('SIGCONT');
    await until(() => has(leader, 'lease-lose'), 'the old leader to step down');
    const afterResume = leader.messages.slice(seen).map((message) => message.type);
    expect(afterResume).not.toContain('replica-launch');
    expect(afterResume).not.toContain('replica-terminate');
    const store = new PostgresStateStore({
      connectionString: cluster.connectionString,
      schema,
    });
    try {
      expect(await store.currentLease('chat')).toMatchObject({
        holder: other.name,
        epoch: taken.epoch,
      });
    } finally {
      await store.close();
    }
    await until(
      async () =>
        started.every((host) => routes(host, 3)) &&
        (await alive(cloud)).length === 3 &&
        leader.status?.leader === false,
      'the new leader to replace the replica and both hosts to route it',
    );
    await expectNoTwins(cloud);
  });

  it('losing PostgreSQL: the leader stops acting, routing goes on, recovery resumes; request rates are shared', async () => {
    const leader = await until(
      () => started.find((host) => host.status?.leader === true),
      'a leader',
    );
    const seen = leader.messages.length;
    /** What the cloud holds: instance ids and which of them ended. */
    const cloudFacts = async () =>
      (await cloud.instances())
        .map(
          (instance) =>
            `${instance.id}:${instance.state === 'terminated' || instance.state === 'preempted'}`,
        )
        .sort();
    cluster.pause();
    let codes: number[];
    let factsAtFailure: string[];
    let factsAtEnd: string[];
    try {
      const traffic = trafficTo(started);
      await until(
        () => leader.messages.slice(seen).some((message) => message.type === 'reconcile-fail'),
        'a failed tick',
      );
      // From the first failed tick on, the leader acts on nothing (a tick that renewed its
      // lease just before the outage may still have finished its calls).
      factsAtFailure = await cloudFacts();
      // Past the lease: the leader's provider calls are refused from here on.
      await delay(2_000);
      factsAtEnd = await cloudFacts();
      codes = await traffic.stop();
    } finally {
      cluster.resume();
    }
    expect(codes.length).toBeGreaterThan(5);
    expect(codes.filter((code) => code !== 200)).toEqual([]);
    expect(factsAtEnd).toEqual(factsAtFailure);

    await until(
      async () =>
        started.filter((host) => host.status?.leader === true).length === 1 &&
        started.every((host) => routes(host, 3)) &&
        (await alive(cloud)).length === 3,
      'the service to recover',
    );
    await expectNoTwins(cloud);
    // The follower's requests reach the leader's autoscaler.
    const current = started.find((host) => host.status?.leader === true)!;
    const other = started.find((host) => host !== current)!;
    const before = current.status?.qps ?? 0;
    for (let index = 0; index < 30; index++) {
      expect(await get(other, `/v1/rate/${index}`)).toBe(200);
    }
    // 30 more requests in the 60 s window: +0.5 requests/s, all seen by another host.
    await until(
      () => (current.status?.qps ?? 0) >= before + 0.45,
      "the leader to count the follower's requests",
    );
    await stopAll(current, [other]);
    expect(await alive(cloud)).toEqual([]);
  });
});
