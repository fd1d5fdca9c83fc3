import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Component tests (*.test.tsx) compile JSX as the app does, with React's automatic runtime.
  esbuild: { jsx: 'automatic' },
  test: {
    include: ['shared/**/*.test.ts', 'electron/**/*.test.ts', 'renderer/**/*.test.{ts,tsx}'],
    environment: 'node',
    // Engine tests drive one libvirt daemon and real images: keep them in one worker, in order.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
