/**
 * Starts a throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory as
 * the `postgres` user (when running as root), then `postgres` on a free loopback port.
 * Needs Debian's `postgresql` package (`scripts/setup.sh --test` installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { IllegalStateError } from '@spothedge/core';

export interface PostgresCluster {
  /** e.g. `postgres://postgres@127.0.0.1:5433/postgres` */
  readonly connectionString: string;
  readonly port: number;
  /** Pauses the server and all its backends (SIGSTOP): to simulate a partition. */
  pause(): void;
  resume(): void;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

/** The directory holding `initdb` and `postgres`, or undefined when not installed. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function asPostgres(command: string, args: string[]): { command: string; args: string[] } {
  const root = process.getuid?.() === 0;
  return root
    ? { command: 'runuser', args: ['-u', 'postgres', '--', command, ...args] }
    : { command, args };
}

/** Starts a fresh cluster; resolves once it accepts connections. */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (bin === undefined)
    throw new IllegalStateError('PostgreSQL is not installed (apt-get install postgresql)');
  const directory = mkdtempSync(join(tmpdir(), 'spothedge-pg-'));
  const data = join(directory, 'data');
  chmodSync(directory, 0o755);
  if (process.getuid?.() === 0) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(directory, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const init = asPostgres(join(bin, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const initResult = spawnSync(init.command, init.args, { encoding: 'utf8' });
  if (initResult.status !== 0) {
    rmSync(directory, { recursive: true, force: true });
    throw new IllegalStateError(`initdb failed: ${initResult.stderr}`);
  }
  const port = await freePort();
  const run = asPostgres(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    directory,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ]);
  const child: ChildProcess = spawn(run.command, run.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-4000);
  });
  // runuser forwards signals; the postgres process is its child.
  const serverPid = async (): Promise<number | undefined> => {
    const result = spawnSync('pgrep', ['-P', String(child.pid), '-x', 'postgres'], {
      encoding: 'utf8',
    });
    const pid = Number(result.stdout.trim().split('\n')[0]);
    return Number.isFinite(pid) && pid > 0 ? pid : child.pid;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
    if (ready.status === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(directory, { recursive: true, force: true });
      throw new IllegalStateError(`PostgreSQL did not start: ${log}`);
    }
    await delay(100);
  }
  const pid = await serverPid();
  const signalServer = (signal: NodeJS.Signals) => {
    if (pid === undefined) return;
    const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .map(Number)
      .filter((child) => Number.isInteger(child) && child > 0);
    for (const target of signal === 'SIGSTOP' ? [pid, ...children] : [...children, pid]) {
      try {
        process.kill(target, signal);
      } catch {
        // exited meanwhile
      }
    }
  };
  return {
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    // The postmaster and every backend: existing connections hang too, as in a partition.
    pause: () => signalServer('SIGSTOP'),
    resume: () => signalServer('SIGCONT'),
    async stop() {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already gone
        }
      }
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT'); // fast shutdown
        await Promise.race([exited, delay(10_000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
