/**
 * undici, loaded on first use. It is the heaviest import of `@spothedge/core` (≈ 130 ms),
 * and a host that only evaluates policies, or a simulator worker, never sends a request.
 * undici is a CommonJS package, so `require` returns the same instance `import` would.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);
let undici: typeof Undici | undefined;

/** The undici module, required synchronously the first time it is needed. */
export function loadUndici(): typeof Undici {
  return (undici ??= require('undici') as typeof Undici);
}
