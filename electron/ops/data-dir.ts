import { homedir } from 'node:os';
import { join } from 'node:path';

/** The app's data folder: journals and locks. `SNAPTREE_DATA_DIR` overrides it (tests, several instances). */
export function dataDir(): string {
  if (process.env.SNAPTREE_DATA_DIR) return process.env.SNAPTREE_DATA_DIR;
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'virt-snaptree');
}
