import { defineConfig } from 'vitest/config';

// `@spothedge/source` points package exports at `src/`, so tests run without a build.
const conditions = ['@spothedge/source', 'node', 'import', 'default'];
// Vitest also hands these to Node as `--conditions` for external packages; `import` there
// would make `require()` of dual CJS/ESM packages (pg → pg-pool) return ES namespaces.
// Vite applies `import`/`require` by itself.
const nodeConditions = ['@spothedge/source', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: ['@spothedge/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
  },
});
