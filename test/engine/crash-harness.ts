/**
 * Runs the crash test: chains of child processes over one state directory each; every
 * child recovers from the previous one's SIGKILL, reports, churns, and is killed at a
 * seeded random moment. Used by `crash.test.ts` (CI) and `bench/engine.bench.ts` (more runs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SeededRandom } from '@spothedge/core';
import type { CloudInspection } from './crash-setup.js';
import { VERIFY_TARGET } from './crash-setup.js';

export interface CrashRunResult {
  readonly chain: number;
  readonly run: number;
  readonly killAfterMs: number;
  readonly leaked: number;
  readonly twins: number;
  readonly reachedDesired: boolean;
}

export interface CrashReport {
  /** Crashes (SIGKILLs) that were recovered from. */
  readonly crashRuns: number;
  readonly leaked: number;
  readonly twins: number;
  /** Restarts that did not reach the target within two ticks. */
  readonly missedDesired: number;
  /** Alive instances after the final `stop({ terminate: true })` of each chain. */
  readonly aliveAfterStop: number;
  readonly runs: readonly CrashRunResult[];
}

export interface CrashOptions {
  /** Total crashes, spread over `chains`. */
  readonly crashes: number;
  /** @default 2 */
  readonly chains?: number;
  /** @default 1 */
  readonly seed?: number;
  /** Kill delay after the child reports `ready`, in [min, max) ms. @default [5, 150] */
  readonly killWindowMs?: readonly [number, number];
}

/** Bundles the child once (tsx per child would cost seconds per process). */
async function bundleChild(directory: string): Promise<string> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const sqlite = createRequire(join(here, '../../packages/store-sqlite/package.json')).resolve(
    'better-sqlite3',
  );
  const outfile = join(directory, 'crash-child.mjs');
  await build({
    entryPoints: [join(here, 'crash-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    outfile,
    conditions: ['@spothedge/source'],
    logLevel: 'error',
    plugins: [
      {
        name: 'native-sqlite',
        setup(context) {
          context.onResolve({ filter: /^better-sqlite3$/ }, () => ({
            path: sqlite,
            external: true,
          }));
        },
      },
    ],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  return outfile;
}

interface ChildOutcome {
  verify: (CloudInspection & { ready: number; target: number }) | undefined;
  final: CloudInspection | undefined;
}

function runChild(
  script: string,
  directory: string,
  seed: number,
  mode: 'churn' | 'final',
  killAfterMs: number,
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, directory, String(seed), mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const outcome: ChildOutcome = { verify: undefined, final: undefined };
    let stderr = '';
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as {
        verify?: ChildOutcome['verify'];
        final?: CloudInspection;
        ready?: boolean;
      };
      if (message.verify !== undefined) outcome.verify = message.verify;
      if (message.final !== undefined) outcome.final = message.final;
      if (message.ready === true) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (killTimer !== undefined) clearTimeout(killTimer);
      const expected = mode === 'final' ? code === 0 : signal === 'SIGKILL';
      if (!expected || outcome.verify === undefined) {
        reject(
          new Error(`crash child (${mode}) exited with ${code ?? signal}: ${stderr.slice(-2000)}`),
        );
        return;
      }
      resolve(outcome);
    });
  });
}

/** Runs the crash test and reports leaks, twins and missed targets (all must be 0). */
export async function runCrashTest(options: CrashOptions): Promise<CrashReport> {
  const chains = options.chains ?? 2;
  const [minKill, maxKill] = options.killWindowMs ?? [5, 150];
  const random = new SeededRandom(options.seed ?? 1);
  const root = mkdtempSync(join(tmpdir(), 'spothedge-crash-'));
  try {
    const script = await bundleChild(root);
    const runs: CrashRunResult[] = [];
    let aliveAfterStop = 0;
    const perChain = Math.ceil(options.crashes / chains);
    const plans = Array.from({ length: chains }, (_, chain) =>
      Array.from({ length: perChain + 1 }, () => ({
        seed: random.nextInt(2 ** 31),
        killAfterMs: minKill + random.next() * (maxKill - minKill),
      })).map((plan, run) => ({ ...plan, chain, run })),
    );
    await Promise.all(
      plans.map(async (plan, chain) => {
        const directory = join(root, `chain-${chain}`);
        mkdirSync(directory);
        for (const step of plan) {
          const final = step.run === plan.length - 1;
          const outcome = await runChild(
            script,
            directory,
            step.seed,
            final ? 'final' : 'churn',
            step.killAfterMs,
          );
          const verify = outcome.verify!;
          // The first child starts from nothing; every later one recovers from a crash.
          if (step.run > 0) {
            runs.push({
              chain,
              run: step.run,
              killAfterMs: plan[step.run - 1]!.killAfterMs,
              leaked: verify.leaked,
              twins: verify.twins,
              reachedDesired: verify.ready >= VERIFY_TARGET,
            });
          }
          if (final) aliveAfterStop += outcome.final?.alive ?? Number.NaN;
        }
      }),
    );
    return {
      crashRuns: runs.length,
      leaked: runs.reduce((sum, run) => sum + run.leaked, 0),
      twins: runs.reduce((sum, run) => Math.max(sum, run.twins), 0),
      missedDesired: runs.filter((run) => !run.reachedDesired).length,
      aliveAfterStop,
      runs,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
