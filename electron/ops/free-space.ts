/**
 * Room for an operation: a plan whose folders have less free space than it needs (its impact's estimate), or
 * that writes a file that cannot be opened for writing (immutable, on a read-only file system), is refused before
 * its journal and first step. A commit that fails stops past its point of no return (docs/safety.md, rule 5), with
 * the snapshot it was to delete still listed, its saved state perhaps half written, and an operation that recovery
 * cannot finish until the cause is gone; refusing first changes nothing.
 */
import { constants } from 'node:fs';
import { access, open, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Plan, Step } from '../../shared/ops/plan';
import { runChecked } from '../tools/host-runner';
import { qemuImgMeasure } from '../tools/qemu-img';
import type { HostFiles } from './host-files';

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

/**
 * Throws E_NO_SPACE when a folder the plan writes or creates files in has less free space than the plan needs,
 * on the host that holds the files (this computer, or the SSH host, read there).
 */
export async function checkFreeSpace(plan: Plan, files: HostFiles): Promise<void> {
  const copies = await copyNeeds(plan.steps, plan.impact.spaceBytes, files);
  const folders = [...new Set([...plan.impact.written, ...plan.impact.created].map((path) => dirname(path)))];
  for (const folder of folders) {
    // A folder that takes a new image or a variable store's copy needs what they measure; any other, the plan's estimate.
    const need = copies.get(folder) ?? plan.impact.spaceBytes;
    if (need <= 0) continue;
    const free = await freeBytes(folder, files);
    if (free !== null && free < need) {
      throw new AppError(
        'E_NO_SPACE',
        `${folder} has ${mib(free)} MiB free, and this operation needs about ${mib(need)} MiB there. Nothing was changed: free some space there and try again.`,
        { folder, free, need },
      );
    }
  }
}

/**
 * The bytes each folder needs for the new files of `convert` and `copy-nvram` steps: an image what `qemu-img
 * measure` says its target format needs (a raw one its whole virtual size, the worst case), a variable store its
 * size. A source that cannot be measured counts the plan's whole estimate (`fallback`).
 */
async function copyNeeds(steps: Step[], fallback: number, files: HostFiles): Promise<Map<string, number>> {
  const needs = new Map<string, number>();
  const add = (path: string, bytes: number) => needs.set(dirname(path), (needs.get(dirname(path)) ?? 0) + bytes);
  for (const step of steps) {
    if (step.kind === 'convert') {
      const measure = await qemuImgMeasure({ image: { path: step.source, format: step.sourceFormat } }, step.format, { runner: files.runner }).catch(() => null);
      add(step.target, measure?.required ?? fallback);
    }
    if (step.kind === 'copy-nvram') add(step.copy, (await files.lstat(step.path).catch(() => null))?.size ?? 0);
  }
  return needs;
}

/**
 * The bytes an unprivileged writer may still use on the file system holding `folder`, on the files' host; null
 * where that is not known: the folder cannot be read, or the file system counts no blocks at all (ramfs keeps no
 * limit to read; `df` shows "-").
 */
async function freeBytes(folder: string, files: HostFiles): Promise<number | null> {
  if (files.host === 'local') {
    const room = await statfs(folder).catch(() => null);
    return room === null || room.blocks === 0 ? null : room.bavail * room.bsize;
  }
  // GNU stat there: blocks available to a user, the size they are counted in, all blocks.
  const out = await runChecked(files.runner, 'stat', ['-f', '-c', '%a %S %b', '--', folder]).catch(() => '');
  const [available, size, blocks] = out.trim().split(/\s+/).map(Number);
  if (available === undefined || size === undefined || !Number.isFinite(available * size) || !blocks) return null;
  return available * size;
}

/**
 * Throws E_NOT_SUPPORTED when a folder a clone's or an export's new files go into cannot take new files (a
 * read-only file system, an immutable folder): checked before the journal, as checkWritable checks files.
 */
async function checkFoldersWritable(plan: Plan): Promise<void> {
  const folders = new Set(plan.steps.flatMap((s) => (s.kind === 'convert' ? [dirname(s.target)] : s.kind === 'copy-nvram' ? [dirname(s.copy)] : [])));
  for (const folder of folders) {
    const code = await access(folder, constants.W_OK).then(
      () => null,
      (error: NodeJS.ErrnoException) => error.code ?? 'EIO',
    );
    if (code === null || code === 'ENOENT') continue;
    throw new AppError('E_NOT_SUPPORTED', `No file can be made in ${folder} (${code}: read-only, or on a read-only file system). Nothing was changed: choose another folder.`, {
      path: folder,
      code,
    });
  }
}

/**
 * Throws E_NOT_SUPPORTED when a file the plan writes cannot be opened for writing: opened and closed at once,
 * writing nothing, never following a link. On this computer's files only.
 */
export async function checkWritable(plan: Plan, files: HostFiles): Promise<void> {
  if (files.host !== 'local') return;
  await checkFoldersWritable(plan);
  for (const path of new Set(plan.impact.written)) {
    const code = await openForWriting(path);
    // A file that is not there yet is made by the plan; anything else the trust checks have said already.
    if (code === null || !['EPERM', 'EACCES', 'EROFS', 'ETXTBSY'].includes(code)) continue;
    throw new AppError(
      'E_NOT_SUPPORTED',
      `${path} cannot be written (${code}: immutable, read-only, or on a read-only file system). Nothing was changed: make it writable (lsattr, chattr -i) and try again.`,
      { path, code },
    );
  }
}

/** Opens `path` for writing and closes it at once; the error code when it cannot be, null when it can. */
async function openForWriting(path: string): Promise<string | null> {
  try {
    await (await open(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)).close();
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'EIO';
  }
}
