import { defineConfig } from 'vite';
import { nodeBundle } from './vite.node.shared';

/**
 * The CLI bundle. Unlike the app's main bundle it is split where the CLI loads a module when a command runs
 * (electron/cli/main.ts): each such module is a chunk of its own beside cli.js, required only then, so that
 * starting the CLI does not load the engine, the server or the scanner before it needs them.
 */
const base = nodeBundle('electron/cli/main.ts', 'cli.js');
const build = base.build ?? {};
const rollup = build.rollupOptions ?? {};
export default defineConfig({
  ...base,
  build: {
    ...build,
    rollupOptions: {
      ...rollup,
      output: { ...rollup.output, inlineDynamicImports: false, dynamicImportInCjs: false, chunkFileNames: 'cli-[name].js' },
    },
  },
});
