/**
 * The safety checks of the trash. The engine runs as root on folders other users may write to, so nothing it
 * finds there is trusted: `.snaptree-trash/`, each operation folder in it and each manifest are looked at
 * without following symlinks and used only when they are the engine's own (its user, mode 0700 folders, regular
 * files); operation folders are named by the UUIDs the engine issues; and every move is checked right before
 * the rename to stay inside the image folder's real path and on its file system. Those checks hold until the
 * rename only because the image folder is trusted (`folder-trust.ts`): nobody else can swap `.snaptree-trash`
 * or an entry of it meanwhile, so every use of an operation folder first checks the folder it sits in.
 */
import type { FileStat, FileView } from '../scan/file-view';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import { isOperationId, TRASH_DIR } from '../../shared/ops/trash-names';
import { checkTrustedFolder, ownUid } from './folder-trust';
import { errnoOf, localHostFiles, lstatOrNull, type FileInfo, type HostFiles } from './host-files';

/** Written into each operation's trash folder: which domain's files these were. */
export const MANIFEST = '.operation.json';


function unsafe(path: string, why: string): AppError {
  return new AppError('E_NOT_SUPPORTED', `${path} ${why}; the trash there is not used. Move it away and check who made it.`, { path });
}

/**
 * Why a directory is not the engine's own private folder (symlink, not a directory, other owner, mode), or null.
 * `uid` is the engine's user on the host that holds the folder: this process's, or the SSH login's.
 */
export function whyNotPrivateDir(info: FileStat, uid: number = ownUid()): string | null {
  if (info.isSymbolicLink()) return 'is a symbolic link';
  if (!info.isDirectory()) return 'is not a directory';
  if (info.uid !== uid) return `belongs to uid ${info.uid}, not to the engine's user (uid ${uid})`;
  if ((info.mode & 0o777) !== 0o700) return `has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, not 0700`;
  return null;
}

/** Throws unless `path` is the engine's own private directory (looked at without following a symlink). */
export async function checkPrivateDir(path: string, files: HostFiles = localHostFiles): Promise<FileInfo> {
  const info = await files.lstat(path);
  const why = whyNotPrivateDir(info, await files.uid());
  if (why !== null) throw unsafe(path, why);
  return info;
}

/** Why the trash folder of `dir` on the host of `files` cannot be used, or null when it is missing or fine (the scan's warnings). */
export function trashProblem(dir: string, files: FileView): string | null {
  let info: FileStat;
  try {
    info = files.lstat(join(dir, TRASH_DIR));
  } catch {
    return null;
  }
  return whyNotPrivateDir(info, files.uid);
}

/** Throws unless `dir` is a real path: no component of it is a symlink. */
export async function checkRealDir(dir: string, files: HostFiles = localHostFiles): Promise<void> {
  const real = await files.realpath(dir);
  if (real !== dir) throw unsafe(dir, `is reached through a symbolic link (it is really ${real})`);
}

/** The trash folder beside the files of `dir` (a real path), when there is one; throws when it is not safe. */
export async function existingTrash(dir: string, files: HostFiles = localHostFiles): Promise<string | null> {
  const trash = join(dir, TRASH_DIR);
  if ((await lstatOrNull(files, trash)) === null) return null;
  await checkPrivateDir(trash, files);
  return trash;
}

/** Makes (or checks) `dir/.snaptree-trash/<operationId>/` as the engine's own private folders; returns it. */
export async function ensureOperationFolder(dir: string, operationId: string, files: HostFiles = localHostFiles): Promise<string> {
  if (!isOperationId(operationId)) throw new AppError('E_INTERNAL', `"${operationId}" is not an operation id the engine issued.`);
  await checkRealDir(dir, files);
  await checkTrustedFolder(dir, 'target', files);
  const trash = join(dir, TRASH_DIR);
  const folder = join(trash, operationId);
  for (const path of [trash, folder]) {
    // Never recursive: mkdir on a planted symlink fails with EEXIST instead of creating inside its target.
    await files.mkdirPrivate(path).catch((error: unknown) => (errnoOf(error) === 'EEXIST' ? undefined : Promise.reject(error)));
    await checkPrivateDir(path, files);
  }
  return folder;
}

/** Checks `dir/.snaptree-trash/<operationId>/` exists and is safe (for restoring or emptying); returns it. */
export async function checkOperationFolder(dir: string, operationId: string, files: HostFiles = localHostFiles): Promise<string> {
  if (!isOperationId(operationId)) throw unsafe(join(dir, TRASH_DIR, operationId), 'is not named by an operation id the engine issued');
  await checkRealDir(dir, files);
  await checkTrustedFolder(dir, 'target', files);
  const trash = join(dir, TRASH_DIR);
  await checkPrivateDir(trash, files);
  await checkPrivateDir(join(trash, operationId), files);
  return join(trash, operationId);
}

/**
 * Where a trashed file lives, taken apart: `<dir>/.snaptree-trash/<operationId>/<name>`. Throws for any
 * other shape, so a path cannot name a file outside a trash folder.
 */
export function splitTrashed(trashed: string): { dir: string; operationId: string; name: string } {
  const folder = dirname(trashed);
  const trash = dirname(folder);
  const name = basename(trashed);
  if (basename(trash) !== TRASH_DIR || name === '' || name === MANIFEST || name.startsWith('..') || !isOperationId(basename(folder))) {
    throw new AppError('E_BAD_INPUT', `${trashed} is not in a trash folder.`, { path: trashed });
  }
  return { dir: dirname(trash), operationId: basename(folder), name };
}

/**
 * Renames `from` to `to` after checking, right before, that both sit in real directories inside `dir` (a real
 * path), that `from` is there (looked at, not followed), that nothing stands at `to` (a rename would replace
 * it), and that all are on one file system: a rename then moves exactly the named entry, link or file.
 */
export async function checkMove(dir: string, from: string, to: string, files: HostFiles = localHostFiles): Promise<void> {
  const inside = (path: string) => path === dir || path.startsWith(`${dir}/`);
  if (!inside(from) || !inside(to)) throw new AppError('E_BAD_INPUT', `Moving ${from} to ${to} would leave ${dir}.`, { from, to });
  const [fromDir, toDir] = await Promise.all([files.realpath(dirname(from)), files.realpath(dirname(to))]);
  if (fromDir !== dirname(from) || toDir !== dirname(to)) throw unsafe(fromDir !== dirname(from) ? dirname(from) : dirname(to), 'is reached through a symbolic link');
  const [source, target, a, b] = await Promise.all([lstatOrNull(files, from), lstatOrNull(files, to), files.lstat(dirname(from)), files.lstat(dirname(to))]);
  if (source === null) throw new AppError('E_CHANGED', `${from} is gone.`, { path: from });
  if (target !== null) throw new AppError('E_NAME_TAKEN', `${to} exists; it is not replaced.`, { path: to });
  if (source.dev !== a.dev || a.dev !== b.dev) throw unsafe(to, `is on another file system than ${from}`);
}

/** A trash folder's own file (a manifest) refused by `files` (a link, another user's, not a file) as the trash's error. */
export function ownFileError(path: string, error: unknown): unknown {
  const why = { ELOOP: 'is a symbolic link', ENOTREG: 'is not a regular file', EOWNER: "belongs to another user, not to the engine's user" }[errnoOf(error) ?? ''];
  return why === undefined ? error : unsafe(path, why);
}
