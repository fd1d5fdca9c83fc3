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
    rollupOptions: {
      // zod's sources carry comments Rollup reports as misplaced annotations; they are harmless noise.
      onwarn(warning, warn) {
        if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
      },
    },
  },
});
