import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('docs/multi-host.md', () => {
  it('shows the type-checked snippet verbatim', () => {
    expect(read('docs/multi-host.md')).toContain(read('docs/snippets/multi-host.ts'));
  });
});
