import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import {
  FakeProvider,
  runProviderConformanceCheck,
  runProviderConformanceSuite,
  type ConformanceHarness,
  type ProviderConformanceOptions,
} from './index.js';

function harnessFor(provider: FakeProvider): ConformanceHarness {
  return {
    provider,
    location: provider.locations()[0]!.id,
    instanceType: 'fake.large',
    exhaustSpotCapacity: (location) => provider.setCapacity(location, 0),
    preempt: (instanceId) => provider.preempt(instanceId),
    createForeignInstance: (location) => provider.createForeignInstance(location),
  };
}

describe('conformance options', () => {
  it('rejects bad suite options eagerly, naming the option and the value', () => {
    const good: ProviderConformanceOptions = {
      name: 'x',
      createHarness: () => harnessFor(new FakeProvider()),
    };
    const attempts: [ProviderConformanceOptions, string][] = [
      [{ ...good, name: '' }, 'name'],
      [{ ...good, createHarness: undefined as never }, 'createHarness'],
      [{ ...good, timeoutMs: 0 }, 'timeoutMs'],
      [{ ...good, capabilities: 'all' as never }, 'capabilities'],
    ];
    for (const [options, argument] of attempts) {
      let caught: unknown;
      try {
        runProviderConformanceSuite(options);
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), argument).toBe(true);
      expect(caught).toMatchObject({ argument });
    }
  });

  it('rejects an unknown check id and a broken harness, closing the harness', async () => {
    const options: ProviderConformanceOptions = {
      name: 'x',
      createHarness: () => harnessFor(new FakeProvider()),
    };
    await expect(runProviderConformanceCheck('nope' as never, options)).rejects.toMatchObject({
      argument: 'checkId',
    });
    let closed = false;
    const broken: ProviderConformanceOptions = {
      name: 'broken',
      createHarness: () => ({
        ...harnessFor(new FakeProvider()),
        location: '',
        close: () => {
          closed = true;
        },
      }),
    };
    await expect(runProviderConformanceCheck('locations', broken)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'harness.location',
    });
    expect(closed).toBe(true);
  });

  it('uses a fresh harness and a fresh service per check, and cleans up', async () => {
    const providers: FakeProvider[] = [];
    const options: ProviderConformanceOptions = {
      name: 'fake',
      createHarness: () => {
        const provider = new FakeProvider();
        providers.push(provider);
        return harnessFor(provider);
      },
    };
    await runProviderConformanceCheck('launch-spot', options);
    await runProviderConformanceCheck('list-by-tags', options);
    expect(providers).toHaveLength(2);
    const services = providers.map(
      (provider) =>
        provider.instances().find((instance) => !instance.foreign)?.tags['spothedge-service'],
    );
    expect(services[0]).toMatch(/^conformance-/);
    expect(services[0]).not.toBe(services[1]);
    for (const provider of providers) {
      const ours = provider.instances().filter((instance) => !instance.foreign);
      expect(ours.map((instance) => instance.state)).toEqual(ours.map(() => 'terminated'));
    }
  });
});

describe('@spothedge/core/testing outside vitest', () => {
  const directory = mkdtempSync(join(tmpdir(), 'spothedge-testing-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('imports and runs FakeProvider without loading vitest', async () => {
    const script = join(directory, 'no-vitest.mts');
    const marker = join(directory, 'vitest-was-resolved');
    // Module hooks run off-thread: they leave a marker file if anything resolves vitest.
    const hooks = [
      "import { appendFileSync } from 'node:fs';",
      'export async function resolve(specifier, context, next) {',
      "  if (specifier === 'vitest' || specifier.startsWith('vitest/')) {",
      `    appendFileSync(${JSON.stringify(marker)}, specifier);`,
      '  }',
      '  return next(specifier, context);',
      '}',
    ].join('\n');
    writeFileSync(
      script,
      [
        "import { register } from 'node:module';",
        `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`,
        `const testing = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});`,
        'const provider = new testing.FakeProvider();',
        "const instance = await provider.launch({ location: provider.locations()[0].id, capacityType: 'spot',",
        "  instanceType: 'fake.large', tags: {}, idempotencyKey: 'k' });",
        'let code;',
        "try { testing.runProviderConformanceSuite({ name: 'x', createHarness() {} }); } catch (error) { code = error.code; }",
        'console.log(JSON.stringify({ id: instance.id, code }));',
      ].join('\n'),
    );
    const environment = { ...process.env };
    delete environment['VITEST'];
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        {
          cwd: fileURLToPath(new URL('../../../../', import.meta.url)),
          env: environment,
          timeout: 30_000,
        },
        (error, stdout, stderr) => (error === null ? resolve(stdout) : reject(new Error(stderr))),
      );
    });
    expect(JSON.parse(output.trim())).toEqual({ id: 'fake-000001', code: 'ILLEGAL_STATE' });
    expect(existsSync(marker)).toBe(false);
  });
});
