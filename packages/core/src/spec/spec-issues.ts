/**
 * Turns zod issues into spothedge {@link Issue}s whose messages name the field and the
 * value received: "Expected `replicas.max` to be an integer >= 1, got `0` (number)".
 */
import type { z } from 'zod';
import { describeValue } from '../errors.js';
import type { Issue } from '../errors.js';

/** Dotted path: `readinessProbe.headers.X-Token`, `locations.0`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((segment) => String(segment)).join('.');
}

const typeNames: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  record: 'an object',
};

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return typeNames[issue.expected] ?? `a value of type ${issue.expected}`;
    case 'too_small': {
      const bound = Number(issue.minimum);
      if (issue.origin === 'string') return `a string of at least ${bound} character(s)`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `a list of at least ${bound} item(s)`;
      return `a number ${issue.inclusive ? '>=' : '>'} ${bound}`;
    }
    case 'too_big': {
      const bound = Number(issue.maximum);
      if (issue.origin === 'string') return `a string of at most ${bound} character(s)`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `a list of at most ${bound} item(s)`;
      return `a number ${issue.inclusive ? '<=' : '<'} ${bound}`;
    }
    case 'invalid_value':
      return `one of ${issue.values.map((value) => `\`${String(value)}\``).join(', ')}`;
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    default:
      // Format, custom and refinement issues carry the expectation as their message.
      return issue.message;
  }
}

/** One {@link Issue} per zod issue, with a readable message. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): Issue[] {
  return issues.map((issue): Issue => {
    const path = formatPath(issue.path);
    const shown = path === '' ? 'the spec' : `\`${path}\``;
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => `\`${path === '' ? key : `${path}.${key}`}\``);
      return {
        path,
        message: `Unknown key${issue.keys.length === 1 ? '' : 's'} ${keys.join(', ')} in ${shown}`,
        value: issue.keys,
      };
    }
    const hasInput = 'input' in issue && issue.input !== undefined;
    const received = hasInput ? `got ${describeValue(issue.input)}` : 'but it is missing';
    return {
      path,
      message: `Expected ${shown} to be ${expectation(issue)}, ${received}`,
      value: hasInput ? issue.input : undefined,
    };
  });
}
