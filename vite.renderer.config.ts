import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../.vite/renderer/main_window',
    emptyOutDir: true,
    sourcemap: true,
    // ELK's worker (1.6 MB) is one prebuilt file loaded only by the file view, off the main thread.
    chunkSizeWarningLimit: 1700,
    rollupOptions: {
      // zod's sources carry comments Rollup reports as misplaced annotations; they are harmless noise.
      onwarn(warning, warn) {
        if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
      },
    },
  },
});
