import { defineConfig } from 'vite';
import { nodeBundle } from './vite.node.shared';

/** Benchmarks run the engine as the app does: bundled to CommonJS with its ESM-only dependencies. */
const config = nodeBundle('bench/scan.ts', 'scan.js');
export default defineConfig({ ...config, build: { ...config.build, outDir: '.vite/bench', emptyOutDir: true } });
