/**
 * Validation of policy options and restored snapshots. Errors name the option (or the
 * snapshot field) and the value, as STYLE.md asks.
 */
import { InvalidArgumentError, describeValue } from '../errors.js';
import type { JsonValue } from './types.js';

/** Reads an optional non-negative integer option, or returns `fallback`. */
export function nonNegativeIntegerOption(
  argument: string,
  value: unknown,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a non-negative integer, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

/** Reads an optional number option within [min, max], or returns `fallback`. */
export function numberInRangeOption(
  argument: string,
  value: unknown,
  range: { readonly min: number; readonly max: number },
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < range.min ||
    value > range.max
  ) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a number from ${range.min} to ${range.max}, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

/** Reads an optional option that must be one of `choices`, or returns `fallback`. */
export function choiceOption<T extends string>(
  argument: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be one of ${choices.map((choice) => `'${choice}'`).join(', ')}, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value as T;
}

/** Reads an optional boolean option, or returns `fallback`. */
export function booleanOption(argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a boolean, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

/** Reads an optional non-empty string option, or returns `fallback`. */
export function nameOption(argument: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a non-empty string, got ${describeValue(value)}`,
      { argument, value },
    );
  }
  return value;
}

/** Whether `value` is a JSON object (not `null`, not an array). */
export function isJsonRecord(
  value: JsonValue | undefined,
): value is { readonly [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that `state` is a snapshot object of the given `kind` and version 1 and returns
 * it as a record; anything else throws {@link InvalidArgumentError}.
 */
export function snapshotRecord(
  state: JsonValue,
  kind: string,
): { readonly [key: string]: JsonValue } {
  if (!isJsonRecord(state) || state['kind'] !== kind || state['version'] !== 1) {
    throw new InvalidArgumentError(
      `Expected \`state\` to be a ${kind} policy snapshot ({ kind: '${kind}', version: 1, ... }), got ${describeValue(state)}`,
      { argument: 'state', value: state },
    );
  }
  return state;
}

/** Reads a string-array field of a snapshot. */
export function snapshotStrings(
  record: { readonly [key: string]: JsonValue },
  field: string,
): string[] {
  const value = record[field];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new InvalidArgumentError(
      `Expected \`state.${field}\` to be an array of strings, got ${describeValue(value)}`,
      { argument: `state.${field}`, value },
    );
  }
  return [...(value as string[])];
}

/** Reads a non-negative integer field of a snapshot. */
export function snapshotInteger(
  record: { readonly [key: string]: JsonValue },
  field: string,
): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `Expected \`state.${field}\` to be a non-negative integer, got ${describeValue(value)}`,
      { argument: `state.${field}`, value },
    );
  }
  return value;
}
