import { join } from 'node:path';

/** The built renderer, beside the bundled entry points (`.vite/build` → `.vite/renderer/main_window`). */
export function rendererDir(): string {
  return process.env.SNAPTREE_RENDERER_DIR ?? join(__dirname, '..', 'renderer', 'main_window');
}
