/**
 * Where the shared (uncommittable) traces live for tests and benchmarks: `<repo>/../shared`
 * — the repository's sibling folder, on developer machines and in CI alike.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `<repo>/../shared`, resolved from this file's location in `packages/sim/src`. */
export const sharedDirectory = fileURLToPath(new URL('../../../../shared/', import.meta.url));

/** Path of a shared trace folder, e.g. `sharedTracePath('aws1')`. */
export function sharedTracePath(name: string): string {
  return `${sharedDirectory}traces/${name}`;
}

/** Whether the shared traces exist here (tests skip, saying so, when they do not). */
export const hasSharedTraces = existsSync(`${sharedDirectory}traces/aws1`);
