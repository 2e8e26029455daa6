/**
 * The order in which a run offers the trace's zones to the policy, per repeat. Order-based
 * baselines (Even Spread fills zones in list order) depend on it entirely.
 */
import { InvalidArgumentError, describeValue } from '@spothedge/core';
import { PythonRandom } from './python-random.js';

/**
 * How each repeat orders the zones.
 * - `artifact`: exactly as the paper's artifact (see {@link artifactZoneOrders}).
 * - `seeded`: an independent shuffle per repeat from our own generator, seeded with
 *   `seed × 1000 + repeat` (the orders change with `--seed`).
 * - `none`: the trace order (zone files sorted by name) in every repeat.
 */
export type ZoneShuffle = 'artifact' | 'seeded' | 'none';

export const ZONE_SHUFFLES: readonly ZoneShuffle[] = ['artifact', 'seeded', 'none'];

/**
 * Checks a zone-shuffle mode (the CLI's `--zone-shuffle`, `runExperiment`'s `zoneShuffle`);
 * the error names `name` and the value.
 */
export function parseZoneShuffle(raw: unknown, name = '--zone-shuffle'): ZoneShuffle {
  if (!(ZONE_SHUFFLES as readonly unknown[]).includes(raw)) {
    throw new InvalidArgumentError(
      `Expected \`${name}\` to be one of ${ZONE_SHUFFLES.join(', ')}, got ${describeValue(raw)}`,
      { argument: name, value: raw },
    );
  }
  return raw as ZoneShuffle;
}

/**
 * The zone order of each repeat as the paper's artifact simulator has it. The artifact
 * lists the zone files (sorted by name, as {@link loadTrace} does), then before every
 * repeat calls Python's `random.shuffle` on that same list, in place, so the shuffles
 * compound. Python's `random` has always just been reseeded with 0 at that point: the
 * artifact's workload constructor calls `random.seed(self.seed)` with a seed that is
 * always 0 (it hands its `seed` argument to the base class's `use_simulator` parameter),
 * and one workload is built with the policy and three by each repeat's latency
 * simulation. Repeat `k` therefore sees `P^(k+1)` of the sorted order, `P` being the
 * permutation of `random.seed(0); random.shuffle(...)`, whatever the experiment's seed.
 *
 * @example
 * ```ts
 * artifactZoneOrders(['a', 'b', 'c'], 2); // [['a', 'c', 'b'], ['a', 'b', 'c']]
 * ```
 */
export function artifactZoneOrders<T>(zones: readonly T[], repeats: number): T[][] {
  const current = [...zones];
  const orders: T[][] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    new PythonRandom(0).shuffle(current);
    orders.push([...current]);
  }
  return orders;
}
