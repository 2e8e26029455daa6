import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CapacityUnavailableError,
  InvalidConfigError,
  ManualClock,
  replicaOwnershipTags,
  serviceOwnershipTags,
  type CapacityType,
} from '@spothedge/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalProvider } from './local-provider.js';
import { createLocalProvider } from './local-provider.js';

const tsx = import.meta.resolve('tsx');
const providers: LocalProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((provider) => provider.close()));
});

function make(options: ConstructorParameters<typeof LocalProvider>[0] = {}): LocalProvider {
  const provider = createLocalProvider({
    stateDirectory: mkdtempSync(join(tmpdir(), 'spothedge-local-test-')),
    ...options,
  });
  providers.push(provider);
  return provider;
}

let keys = 0;
function request(location: string, capacityType: CapacityType, service = 'local-test') {
  const replicaId = `r${++keys}`;
  return {
    location,
    capacityType,
    instanceType: 'local-process',
    tags: replicaOwnershipTags({ service, replicaId, capacityType }),
    idempotencyKey: `key-${replicaId}`,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(25);
  }
}

describe('LocalProvider', () => {
  it('runs replicas as real processes serving the model server', async () => {
    const provider = make({ locations: 2 });
    const instance = await provider.launch(request(provider.locations()[0]!.id, 'spot'));
    expect(instance.state).toBe('running');
    const response = await fetch(`${instance.endpoint}/health`);
    expect(response.status).toBe(200);
    expect(provider.pids()).toHaveLength(1);
  });

  it('fails spot launches beyond capacity and preempts the excess by SIGKILL when capacity drops', async () => {
    const clock = new ManualClock({ now: 0 });
    let capacity = 2;
    const provider = make({
      locations: 1,
      spotCapacity: () => capacity,
      clock,
      checkIntervalMs: 100,
    });
    const location = provider.locations()[0]!.id;
    const first = await provider.launch(request(location, 'spot'));
    await clock.advance(10);
    const second = await provider.launch(request(location, 'spot'));
    await expect(provider.launch(request(location, 'spot'))).rejects.toSatisfy(
      (error: unknown) => CapacityUnavailableError.isInstance(error) && error.location === location,
    );
    // On-demand is not limited by spot capacity.
    await provider.launch(request(location, 'on-demand'));
    const [firstPid, secondPid] = provider.pids();
    capacity = 1;
    await clock.advance(100);
    const listed = await provider.list({ tags: serviceOwnershipTags('local-test') });
    const states = Object.fromEntries(listed.map((instance) => [instance.id, instance.state]));
    expect(states[second.id]).toBe('preempted'); // the newest goes first
    expect(states[first.id]).toBe('running');
    await waitFor(() => !alive(secondPid!));
    expect(alive(firstPid!)).toBe(true);
  });

  it('sends an interruption notice before a capacity drop preempts', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = make({
      locations: 1,
      spotCapacity: (_location, now) => (now >= 5_000 ? 0 : 1),
      interruptionNoticeMs: 2_000,
      clock,
      checkIntervalMs: 500,
    });
    const location = provider.locations()[0]!.id;
    const instance = await provider.launch(request(location, 'spot'));
    const tags = serviceOwnershipTags('local-test');
    await clock.advanceTo(2_500);
    expect(await provider.interruptions({ tags })).toEqual([]);
    await clock.advanceTo(3_000);
    expect(await provider.interruptions({ tags })).toEqual([
      { instanceId: instance.id, noticedAt: 3_000, deadline: 5_000 },
    ]);
    expect((await provider.list({ tags }))[0]!.state).toBe('running');
    await clock.advanceTo(5_000);
    expect((await provider.list({ tags }))[0]!.state).toBe('preempted');
  });

  it('kills every replica on close', async () => {
    const provider = make({ locations: 1 });
    const location = provider.locations()[0]!.id;
    await provider.launch(request(location, 'on-demand'));
    await provider.launch(request(location, 'spot'));
    const pids = provider.pids();
    expect(pids).toHaveLength(2);
    await provider.close();
    await waitFor(() => pids.every((pid) => !alive(pid)));
  });

  it('rejects bad settings naming the setting', () => {
    expect(() => createLocalProvider({ locations: 0 })).toThrow(InvalidConfigError);
    expect(() => createLocalProvider({ locations: ['aws/us-east-1/a'] })).toThrow(/locations/);
    expect(() => createLocalProvider({ coldStartMs: -5 })).toThrow(/coldStartMs/);
  });
});

describe('LocalProvider after the host is killed', () => {
  const host = fileURLToPath(new URL('./fixtures/host.ts', import.meta.url));

  async function startHost(stateDirectory: string, count: number, entry?: string) {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@spothedge/source',
        '--import',
        tsx,
        host,
        stateDirectory,
        String(count),
        ...(entry ? [entry] : []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8');
    for await (const chunk of child.stdout) {
      output += chunk as string;
      if (output.includes('\n')) break;
    }
    return { child, pids: JSON.parse(output) as number[] };
  }

  it('replicas exit when their host dies', async () => {
    const stateDirectory = mkdtempSync(join(tmpdir(), 'spothedge-host-'));
    const { child, pids } = await startHost(stateDirectory, 2);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => pids.every((pid) => !alive(pid)));
  });

  it('the next host ends replicas that outlived a killed host, by pid file', async () => {
    const stateDirectory = mkdtempSync(join(tmpdir(), 'spothedge-host-'));
    const stubborn = fileURLToPath(new URL('./fixtures/stubborn-replica.ts', import.meta.url));
    const { child, pids } = await startHost(stateDirectory, 1, stubborn);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await delay(200);
    expect(pids.every(alive)).toBe(true); // it ignored the host's death
    make({ stateDirectory });
    await waitFor(() => pids.every((pid) => !alive(pid)));
    expect(readdirSync(stateDirectory)).toEqual([]);
  });
});
