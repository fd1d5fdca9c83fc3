import { defineConfig } from 'vite';
import { nodeBundle } from './vite.node.shared';

/** Benchmarks run the engine as the app does: bundled to CommonJS with its ESM-only dependencies. */
const base = nodeBundle('bench/scan.ts', 'scan.js').build ?? {};
export default defineConfig({
  ...nodeBundle('bench/scan.ts', 'scan.js'),
  build: {
    ...base,
    outDir: '.vite/bench',
    emptyOutDir: true,
    lib: false,
    rollupOptions: {
      ...base.rollupOptions,
      // Playwright drives its own browser binaries: it stays a package, not part of the bundle.
      external: [...((base.rollupOptions?.external as string[] | undefined) ?? []), 'playwright-core'],
      input: { scan: 'bench/scan.ts', ops: 'bench/ops.ts', plan: 'bench/plan.ts', render: 'bench/render.ts', clone: 'bench/clone.ts' },
      output: { format: 'cjs', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
    },
  },
});
