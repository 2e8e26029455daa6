export * from './errors.js';
export * from './clock.js';
export * from './provider.js';
export * from './random.js';
export * from './policy/types.js';
