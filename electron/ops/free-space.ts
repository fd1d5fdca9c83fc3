/**
 * Room for an operation: a plan whose folders have less free space than it needs (its impact's estimate) is
 * refused before its journal and first step. A commit that runs out of space stops past its point of no return
 * (docs/safety.md, rule 5), with the snapshot it was to delete still listed and its saved state half written, and
 * recovery cannot finish it until space is freed; refusing first changes nothing.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Plan } from '../../shared/ops/plan';
import type { HostFiles } from './host-files';

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

/**
 * Throws E_NO_SPACE when a folder the plan writes or creates files in has less free space than the plan needs.
 * On this computer's files only: a remote host's free space is not read (its tools say so when they run out).
 */
export async function checkFreeSpace(plan: Plan, files: HostFiles): Promise<void> {
  const need = plan.impact.spaceBytes;
  if (need <= 0 || files.host !== 'local') return;
  const folders = [...new Set([...plan.impact.written, ...plan.impact.created].map((path) => dirname(path)))];
  for (const folder of folders) {
    const room = await statfs(folder).catch(() => null);
    if (room === null) continue;
    const free = room.bavail * room.bsize;
    if (free < need) {
      throw new AppError(
        'E_NO_SPACE',
        `${folder} has ${mib(free)} MiB free, and this operation needs about ${mib(need)} MiB there. Nothing was changed: free some space there and try again.`,
        { folder, free, need },
      );
    }
  }
}
