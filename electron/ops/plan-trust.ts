/**
 * The folders a plan changes files in, checked before its first step: every one must be trusted (see
 * `folder-trust.ts`), and a trash folder already there must be the engine's own. A plan that fails is refused
 * whole, so nothing runs in a folder where another user could swap a file between a check and its use.
 */
import { dirname } from 'node:path';
import type { Step } from '../../shared/ops/plan';
import { checkTrustedFolder } from './folder-trust';
import { existingTrash } from './trash-folder';

/** The folders in which `step` creates, writes, moves or deletes files (trash folders not included). */
function foldersOf(step: Step): string[] {
  switch (step.kind) {
    case 'create-overlay':
    case 'rebase':
    case 'repair':
    case 'trash':
    case 'keep-copy':
      return [dirname(step.path)];
    case 'commit':
      return [dirname(step.top), dirname(step.base)];
    case 'create-snapshot':
      return Object.values(step.overlays).map((path) => dirname(path));
    default:
      return [];
  }
}

/**
 * Throws, naming the folder and what to fix, unless every folder the steps change files in is trusted and every
 * trash folder they move files into is, when it exists, the engine's own private folder.
 */
export async function checkPlanFolders(steps: Step[]): Promise<void> {
  const folders = new Set(steps.flatMap(foldersOf));
  for (const folder of folders) await checkTrustedFolder(folder);
  for (const step of steps) if (step.kind === 'trash' || step.kind === 'keep-copy') await existingTrash(dirname(step.path));
}
