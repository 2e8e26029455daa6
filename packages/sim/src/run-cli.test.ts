import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  (stderr as unknown as PassThrough).on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { streams: { stdout, stderr }, out: () => out, err: () => err };
}

describe('spothedge-sim CLI', () => {
  it('prints exactly the agreed --json shape, latency null without a workload', async () => {
    const capture = io();
    const code = await runCli(
      [
        '--trace',
        'synthetic:3',
        '--hours',
        '1',
        '--repeats',
        '1',
        '--policy',
        'on-demand,optimal',
        '--json',
      ],
      capture.streams,
    );
    expect(code).toBe(0);
    const document = JSON.parse(capture.out()) as { results: Record<string, unknown>[] };
    expect(document.results).toHaveLength(2);
    expect(Object.keys(document.results[0]!)).toEqual([
      'trace',
      'policy',
      'repeats',
      'availability',
      'availabilityMin',
      'cost',
      'latencyP50',
      'latencyP90',
      'latencyP99',
      'failureRate',
      'runtimeMs',
    ]);
    expect(document.results[0]).toMatchObject({
      trace: 'synthetic:3',
      policy: 'on-demand',
      repeats: 1,
      availability: 1,
      latencyP50: null,
    });
    expect(document.results[1]!.availability).toBe(1);
    expect(document.results[1]!.cost as number).toBeLessThanOrEqual(1);
  });

  it('writes a self-contained HTML report and a table with a workload', async () => {
    const capture = io();
    const file = join(mkdtempSync(join(tmpdir(), 'sim-cli-')), 'report.html');
    const code = await runCli(
      [
        '--trace',
        'synthetic:4',
        '--hours',
        '1',
        '--repeats',
        '1',
        '--policy',
        'spothedge-paper',
        '--zone-shuffle',
        'artifact',
        '--workload',
        'poisson:0.15',
        '--html',
        file,
      ],
      capture.streams,
    );
    expect(code).toBe(0);
    expect(capture.out()).toMatch(/spothedge-paper/);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/<svg/);
    expect(html).toMatch(/zone shuffle artifact/);
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
  });

  it('names a bad flag value and exits 2', async () => {
    const capture = io();
    expect(await runCli(['--trace', 'synthetic:1', '--policy', 'magic'], capture.streams)).toBe(2);
    expect(capture.err()).toMatch(/"magic"/);
    expect(await runCli(['--trace', 'synthetic:1', '--repeats', '0'], capture.streams)).toBe(2);
    expect(await runCli(['--trace', 'synthetic:1', '--jobs', '0'], capture.streams)).toBe(2);
    expect(capture.err()).toMatch(/`--jobs`.*"0"/);
    expect(
      await runCli(['--trace', 'synthetic:1', '--zone-shuffle', 'python'], capture.streams),
    ).toBe(2);
    expect(capture.err()).toMatch(/`--zone-shuffle`.*"python"/);
    expect(await runCli(['--trace', 'synthetic:1:zones=2'], capture.streams)).toBe(2);
    expect(capture.err()).toMatch(/"zones=2"/);
    expect(await runCli([], capture.streams)).toBe(2);
  });
});
