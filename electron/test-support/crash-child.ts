/**
 * A child process that plans and applies one operation through a fresh engine, killed with SIGKILL where
 * SNAPTREE_CRASH_AT says (executor.ts): before a step runs (`N:started`), after it ran but before the journal says so
 * (`N:ran`), or after (`N:done`). The tests then recover in their own engine (docs/safety.md, rule 5).
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Intent } from '../../shared/ops/plan';
import { TEST_URI, type TestLab } from './lab';

/** The child's script's name in the lab's folder. */
export const CHILD_SCRIPT = 'crash-child.mts';

/** Writes the child's script into the lab's folder; returns its path. */
export async function writeCrashChild(lab: TestLab): Promise<string> {
  const script = `import { Engine } from ${JSON.stringify(join(__dirname, '..', 'engine'))};
const engine = new Engine({ host: 'serve' });
const plan = await engine.plan({ kind: 'libvirt', uri: ${JSON.stringify(TEST_URI)} }, JSON.parse(process.env.SNAPTREE_INTENT ?? '{}'));
if (!plan.ok) throw new Error(plan.refusal.message);
await engine.apply(plan.plan);
await engine.close();
`;
  const path = lab.path(CHILD_SCRIPT);
  await writeFile(path, script);
  return path;
}

/** Every kill point of a plan of `steps` steps, in order. */
export function killPointsOf(steps: number): string[] {
  return Array.from({ length: steps }, (_s, i) => [`${i}:started`, `${i}:ran`, `${i}:done`]).flat();
}

/** Runs `intent` in the child (TypeScript loaded by tsx), killed at `point`; gives the signal it ended with and its stderr. */
export function runKilled(child: string, intent: Intent, point: string): { signal: NodeJS.Signals | null; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', child], {
    env: { ...process.env, SNAPTREE_CRASH_AT: point, SNAPTREE_INTENT: JSON.stringify(intent) },
    encoding: 'utf8',
  });
  return { signal: run.signal, stderr: run.stderr };
}
