import { builtinModules } from 'node:module';
import type { UserConfig } from 'vite';

/**
 * Build settings for the Node-side bundles (main, preload, CLI): CommonJS output into .vite/build, with
 * ESM-only dependencies such as execa bundled in, and Node built-ins and electron left external. So is koffi:
 * it loads its native binary from its platform package beside it in node_modules (forge.config.ts ships both).
 */
export function nodeBundle(entry: string, fileName: string): UserConfig {
  return {
    build: {
      outDir: '.vite/build',
      emptyOutDir: false,
      sourcemap: true,
      minify: false,
      target: 'node20',
      ssr: true,
      lib: { entry, formats: ['cjs'], fileName: () => fileName },
      rollupOptions: {
        external: ['electron', 'koffi', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
        // An import() of koffi becomes a require(): a dynamic import would go through Node's ESM loader.
        output: { inlineDynamicImports: true, dynamicImportInCjs: false, entryFileNames: fileName },
        // zod's sources carry comments Rollup reports as misplaced annotations; they are harmless noise.
        onwarn(warning, warn) {
          if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
        },
      },
    },
    ssr: { noExternal: true, target: 'node' },
    resolve: { conditions: ['node'], mainFields: ['module', 'jsnext:main', 'jsnext'] },
  };
}
