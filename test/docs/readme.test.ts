import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('README', () => {
  it('shows the type-checked embedding snippet verbatim', () => {
    const snippet = read('docs/snippets/readme-embed.ts');
    expect(read('README.md')).toContain(snippet);
  });

  it('links only to files that exist', () => {
    const links = [...read('README.md').matchAll(/\]\(((?:docs|examples)\/[^)#]+)\)/g)].map(
      (match) => match[1]!,
    );
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) expect(existsSync(new URL(link, root)), link).toBe(true);
  });
});
