/**
 * `pnpm bench [--filter NAME]...`: runs each `bench/NAME.bench.ts` (all of them without a
 * filter) in its own process; each writes `bench/results/NAME.json`. Benchmarks import the
 * packages' TypeScript sources, except those in `BUILT`, which measure what users run (the
 * built `dist/`, as `scripts/setup.sh` leaves it).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const filters: string[] = [];
for (let index = 0; index < args.length; index++) {
  const arg = args[index]!;
  if (arg === '--filter') filters.push(args[++index] ?? '');
  else if (arg.startsWith('--filter=')) filters.push(arg.slice('--filter='.length));
}
const available = readdirSync(new URL('../bench/', import.meta.url))
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();
const chosen =
  filters.length === 0 ? available : available.filter((name) => filters.includes(name));
if (chosen.length === 0) {
  console.error(`No benchmark matches ${filters.join(', ')}; available: ${available.join(', ')}`);
  process.exit(1);
}
// The simulator's grid runs on worker threads: from sources, every worker would compile
// the whole tree again before its first window.
const BUILT = new Set(['sim', 'robustness']);
let failed = 0;
for (const name of chosen) {
  console.log(`\n# bench ${name}`);
  const conditions = BUILT.has(name) ? [] : ['--conditions=@spothedge/source'];
  const result = spawnSync(
    process.execPath,
    [...conditions, '--import', 'tsx', `bench/${name}.bench.ts`],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
