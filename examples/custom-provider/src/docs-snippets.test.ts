import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/providers/custom.md shows code only from this example: each ```ts block is preceded
// by `<!-- snippet: <file>#<region> -->` and must equal that `// #region` of the (type-checked,
// tested) source, dedented. Change the code and this test tells you which snippet drifted.
const exampleRoot = fileURLToPath(new URL('..', import.meta.url));
const guidePath = fileURLToPath(new URL('../../../docs/providers/custom.md', import.meta.url));

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function dedent(lines: readonly string[]): string {
  const indents = lines
    .filter((line) => line.trim() !== '')
    .map((line) => /^ */.exec(line)![0].length);
  const common = Math.min(...indents);
  return lines.map((line) => line.slice(common)).join('\n');
}

/** `file#region` → the region's text, for every region of every source file. */
function regions(): Map<string, string> {
  const found = new Map<string, string>();
  for (const path of sourceFiles(join(exampleRoot, 'src'))) {
    const lines = readFileSync(path, 'utf8').split('\n');
    const file = relative(exampleRoot, path);
    for (let index = 0; index < lines.length; index += 1) {
      const name = /^\s*\/\/ #region (\S+)\s*$/.exec(lines[index]!)?.[1];
      if (name === undefined) continue;
      const end = lines.findIndex((line, at) => at > index && /^\s*\/\/ #endregion/.test(line));
      expect(end, `${file}#${name} has no #endregion`).toBeGreaterThan(index);
      found.set(`${file}#${name}`, dedent(lines.slice(index + 1, end)));
    }
  }
  return found;
}

describe('docs/providers/custom.md', () => {
  const guide = readFileSync(guidePath, 'utf8');
  const blocks = [
    ...guide.matchAll(/(?:<!-- snippet: (\S+) -->\n)?```(ts|typescript)\n([\s\S]*?)\n```/g),
  ].map((match) => ({ source: match[1], code: match[3]! }));
  const known = regions();

  it('shows TypeScript only from the example', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks) {
      expect(block.source, `a ts block has no snippet marker:\n${block.code}`).toBeDefined();
    }
  });

  it.each(blocks.map((block) => [block.source ?? '(unmarked)', block.code]))(
    '%s matches the source verbatim',
    (source, code) => {
      expect(known.has(source), `no region ${source} in examples/custom-provider`).toBe(true);
      expect(code).toBe(known.get(source));
    },
  );
});
