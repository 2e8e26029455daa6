/**
 * The policies the simulator and its CLI know by name, built fresh for every run.
 */
import {
  AdaptiveSpotHedgePolicy,
  EvenSpreadPolicy,
  InvalidArgumentError,
  OnDemandOnlyPolicy,
  RoundRobinPolicy,
  SpotHedgePolicy,
  StaticMixPolicy,
  describeValue,
} from '@spothedge/core';
import type { Policy } from '@spothedge/core';

/** Names accepted by `--policy`. `optimal` is the omniscient integer program, not a policy. */
export const POLICY_NAMES = [
  'spothedge-paper',
  'spothedge-skypilot',
  'spothedge',
  'on-demand',
  'even-spread',
  'round-robin',
  'static-mix',
  'optimal',
] as const;

export type PolicyName = (typeof POLICY_NAMES)[number];

export interface PolicySettings {
  /** N_extra for the SpotHedge variants. */
  readonly extra: number;
  /** Seed of the policy's own generator (random placement). */
  readonly seed: number;
}

/** Builds the named policy (`optimal` has no policy object: it is solved, not run). */
export function createPolicy(
  name: Exclude<PolicyName, 'optimal'>,
  settings: PolicySettings,
): Policy {
  switch (name) {
    case 'spothedge-paper':
      return SpotHedgePolicy.paper({ seed: settings.seed, overprovision: settings.extra });
    case 'spothedge-skypilot':
      return SpotHedgePolicy.skypilot({ seed: settings.seed, overprovision: settings.extra });
    case 'spothedge':
      return new AdaptiveSpotHedgePolicy({ seed: settings.seed, overprovision: settings.extra });
    case 'on-demand':
      return new OnDemandOnlyPolicy();
    case 'even-spread':
      return new EvenSpreadPolicy();
    case 'round-robin':
      return new RoundRobinPolicy();
    case 'static-mix':
      // One on-demand replica always, the rest spot: the classic "safe" static mix.
      return new StaticMixPolicy({ onDemandBase: 1 });
  }
}

/** Parses `--policy a,b,...`; errors name the unknown policy. */
export function parsePolicyNames(list: string): PolicyName[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (!(POLICY_NAMES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `Expected \`--policy\` entries to be among ${POLICY_NAMES.join(', ')}, got ${describeValue(name)}`,
        { argument: 'policy', value: name },
      );
    }
  }
  if (names.length === 0) {
    throw new InvalidArgumentError('Expected `--policy` to name at least one policy', {
      argument: 'policy',
      value: list,
    });
  }
  return names as PolicyName[];
}
