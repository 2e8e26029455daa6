import { describe, expect, it } from 'vitest';
import { InvalidSpecError } from '../errors.js';
import { parseServiceSpec } from './service-spec.js';

const minimal = {
  name: 'llama-chat',
  locations: ['aws/us-east-1/us-east-1a', 'gcp/us-central1/us-central1-a'],
  instanceType: 'g5.xlarge',
};

function issuesOf(input: unknown): { path: string; message: string; value?: unknown }[] {
  try {
    parseServiceSpec(input);
  } catch (error) {
    expect(InvalidSpecError.isInstance(error)).toBe(true);
    return [...(error as InvalidSpecError).issues];
  }
  throw new Error('expected parseServiceSpec to throw');
}

describe('parseServiceSpec', () => {
  it('applies defaults to a minimal spec', () => {
    expect(parseServiceSpec(minimal)).toEqual({
      ...minimal,
      replicas: { min: 1, max: 1 },
      upscaleDelaySeconds: 300,
      downscaleDelaySeconds: 1200,
      spot: {
        enabled: true,
        overprovision: 1,
        baseOnDemand: 0,
        dynamicFallback: true,
        placement: 'cheapest',
      },
      port: 8080,
      readinessProbe: {
        path: '/',
        method: 'GET',
        headers: {},
        initialDelaySeconds: 1200,
        timeoutSeconds: 15,
        periodSeconds: 10,
        failureThreshold: 3,
      },
      loadBalancing: 'least-load',
    });
  });

  it('accepts a full spec', () => {
    const spec = parseServiceSpec({
      ...minimal,
      replicas: { min: 2, max: 8 },
      targetQpsPerReplica: 2.5,
      upscaleDelaySeconds: 60,
      downscaleDelaySeconds: 600,
      spot: { overprovision: 2, baseOnDemand: 1, dynamicFallback: false, placement: 'random' },
      port: 8000,
      startupScript: 'python -m vllm.entrypoints.openai.api_server',
      readinessProbe: {
        path: '/v1/chat/completions',
        body: { model: 'llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 },
        headers: { Authorization: 'Bearer x' },
        initialDelaySeconds: 300,
        timeoutSeconds: 5,
        periodSeconds: 15,
        failureThreshold: 5,
      },
      loadBalancing: 'round-robin',
    });
    expect(spec.readinessProbe.method).toBe('POST');
    expect(spec.replicas).toEqual({ min: 2, max: 8 });
    expect(spec.spot.placement).toBe('random');
  });

  it('reads a number as a fixed count, and { min } alone as max = min', () => {
    expect(parseServiceSpec({ ...minimal, replicas: 3 }).replicas).toEqual({ min: 3, max: 3 });
    expect(parseServiceSpec({ ...minimal, replicas: { min: 2 } }).replicas).toEqual({
      min: 2,
      max: 2,
    });
  });

  it('names the field and value when max < min', () => {
    const issues = issuesOf({ ...minimal, replicas: { min: 2, max: 1 } });
    expect(issues).toEqual([
      {
        path: 'replicas.max',
        message: 'Expected `replicas.max` to be an integer >= `replicas.min` (2), got `1` (number)',
        value: 1,
      },
    ]);
  });

  it('rejects bad names', () => {
    for (const name of ['Llama', 'llama_chat', '-llama', 'a'.repeat(41), '']) {
      const issues = issuesOf({ ...minimal, name });
      expect(issues[0]!.path).toBe('name');
      expect(issues[0]!.message).toContain(JSON.stringify(name).slice(0, 20));
    }
  });

  it('lists every problem at once, with paths and values', () => {
    const issues = issuesOf({
      name: 'ok',
      replicas: { min: -1 },
      locations: ['not a location'],
      spot: { placement: 'fastest' },
      readinessProbe: { path: 'health', timeoutSeconds: 0 },
      loadBalancing: 'random',
      port: 70000,
    });
    const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'instanceType',
        'loadBalancing',
        'locations.0',
        'port',
        'readinessProbe.path',
        'readinessProbe.timeoutSeconds',
        'replicas.min',
        'spot.placement',
      ].sort(),
    );
    expect(byPath['instanceType']!.message).toBe(
      'Expected `instanceType` to be a string (or a list of them, one per cloud), but it is missing',
    );
    expect(byPath['spot.placement']!.message).toBe(
      'Expected `spot.placement` to be one of `random`, `cheapest`, got `"fastest"` (string)',
    );
    expect(byPath['port']!.value).toBe(70000);
    expect(byPath['readinessProbe.path']!.message).toContain('starting with `/`');
  });

  it('rejects unknown keys, naming them', () => {
    const issues = issuesOf({ ...minimal, replica: 3, spot: { overprovison: 2 } });
    expect(issues.map((issue) => issue.message).sort()).toEqual([
      'Unknown key `replica` in the spec',
      'Unknown key `spot.overprovison` in `spot`',
    ]);
  });

  it('requires targetQpsPerReplica when replicas can scale', () => {
    const issues = issuesOf({ ...minimal, replicas: { min: 1, max: 3 } });
    expect(issues[0]!.path).toBe('targetQpsPerReplica');
  });

  it('rejects baseOnDemand above replicas.max, duplicate locations, a GET body', () => {
    expect(issuesOf({ ...minimal, spot: { baseOnDemand: 2 } })[0]!.message).toBe(
      'Expected `spot.baseOnDemand` to be an integer <= `replicas.max` (1), got `2` (number)',
    );
    expect(
      issuesOf({ ...minimal, locations: [minimal.locations[0], minimal.locations[0]] })[0]!.path,
    ).toBe('locations.1');
    expect(
      issuesOf({ ...minimal, readinessProbe: { method: 'GET', body: { a: 1 } } })[0]!.path,
    ).toBe('readinessProbe.body');
  });

  it('rejects a non-object', () => {
    expect(issuesOf('name: x')[0]!.message).toContain('(string)');
  });
});
