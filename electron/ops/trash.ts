/**
 * The trash: files the app "deletes" are moved into `.snaptree-trash/<operation>/` beside them (a rename, never
 * a copy). Listing, restoring and emptying are explicit acts of their own.
 */
import { lstat, readdir, realpath, rename, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import { isOperationId } from '../../shared/ops/trash-names';
import type { TrashEntry } from '../../shared/ops/results';
import { readQcow2Header } from '../tools/qcow2-header';
import { resolveBackingName } from '../scan/layers';
import { checkMove, checkOperationFolder, existingTrash, checkPrivateDir, MANIFEST, openOwnFile, splitTrashed } from './trash-folder';

export interface TrashManifest {
  operationId: string;
  domain: string;
  op: string;
}

/** Writes the manifest into an operation folder `ensureOperationFolder` made; never through a planted link. */
export async function writeTrashManifest(folder: string, manifest: TrashManifest): Promise<void> {
  const handle = await openOwnFile(join(folder, MANIFEST), true);
  try {
    await handle.truncate(0);
    await handle.writeFile(`${JSON.stringify(manifest)}\n`);
  } finally {
    await handle.close();
  }
}

/** The manifest of an operation folder; null when it has none or it is not JSON; throws when it is not the engine's own file. */
async function readTrashManifest(folder: string): Promise<TrashManifest | null> {
  let handle;
  try {
    handle = await openOwnFile(join(folder, MANIFEST), false);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return JSON.parse(await handle.readFile('utf8')) as TrashManifest;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** The file a trashed qcow2 image was built on, resolved as it was at its original place; null for others. */
function backingOf(trashed: string, originalDir: string): string | null {
  let name: string | null = null;
  try {
    name = readQcow2Header(trashed)?.backingName ?? null;
  } catch {
    return null;
  }
  // As QEMU resolves it from the file's place before it was trashed.
  return name === null ? null : resolveBackingName(join(originalDir, basename(trashed)), name);
}

/**
 * Lists the trash folders beside the given directories (taken at their real paths). Throws when a trash folder
 * or an operation folder in it is not the engine's own (a symlink, another owner, another mode); skips
 * entries not named by an operation id, and anything in an operation folder but regular files and links.
 */
export async function listTrash(dirs: Iterable<string>): Promise<TrashEntry[]> {
  const out: TrashEntry[] = [];
  const reals = await Promise.all([...new Set(dirs)].map((dir) => realpath(dir).catch(() => null)));
  for (const dir of new Set(reals.filter((d): d is string => d !== null))) {
    const trash = await existingTrash(dir);
    if (trash === null) continue;
    for (const operationId of (await readdir(trash)).filter(isOperationId)) {
      const folder = join(trash, operationId);
      await checkPrivateDir(folder);
      const manifest = await readTrashManifest(folder);
      for (const name of await readdir(folder)) {
        if (name === MANIFEST) continue;
        const trashed = join(folder, name);
        const info = await lstat(trashed).catch(() => null);
        if (info === null || !(info.isFile() || info.isSymbolicLink())) continue;
        const original = join(dir, name);
        const backing = info.isFile() ? backingOf(trashed, dir) : null;
        out.push({ operationId, domain: manifest?.domain ?? null, original, trashed, size: info.blocks * 512, trashedAt: info.ctime.toISOString(), backing });
      }
    }
  }
  return out.sort((a, b) => a.trashedAt.localeCompare(b.trashedAt) || a.original.localeCompare(b.original));
}

/** An entry's place, re-derived from its trashed path: the original is always beside the trash folder. */
function placeOf(entry: TrashEntry): { dir: string; operationId: string; original: string } {
  const { dir, operationId, name } = splitTrashed(entry.trashed);
  const original = join(dir, name);
  if (entry.original !== original) throw new AppError('E_BAD_INPUT', `${entry.trashed} came from ${original}, not ${entry.original}.`);
  return { dir, operationId, original };
}

const lexists = (path: string) => lstat(path).then(() => true, () => false);

/**
 * Moves trashed files back where they were; refuses, before moving any, when something new stands there or a
 * folder is not safe (the image folder not trusted, the trash not the engine's own).
 */
export async function restoreTrash(entries: TrashEntry[]): Promise<string[]> {
  const places = entries.map(placeOf);
  for (const [i, place] of places.entries()) {
    await checkOperationFolder(place.dir, place.operationId);
    if (await lexists(place.original)) {
      throw new AppError('E_NAME_TAKEN', `${place.original} exists again; move it away before restoring its old version.`, { path: place.original });
    }
    if (!(await lexists((entries[i] as TrashEntry).trashed))) throw new AppError('E_CHANGED', `${(entries[i] as TrashEntry).trashed} is gone.`);
  }
  for (const [i, place] of places.entries()) {
    const trashed = (entries[i] as TrashEntry).trashed;
    await checkOperationFolder(place.dir, place.operationId);
    await checkMove(place.dir, trashed, place.original);
    await rename(trashed, place.original);
    await removeIfEmpty(dirname(trashed));
  }
  return places.map((p) => p.original);
}

/**
 * Deletes trashed files for good: only regular files and links, only inside the engine's own trash folders of
 * trusted image folders (checked for all entries before the first goes).
 */
export async function emptyTrash(entries: TrashEntry[]): Promise<number> {
  let freed = 0;
  // Every folder is checked (trusted, the trash the engine's own) before the first file goes.
  for (const place of entries.map(placeOf)) await checkOperationFolder(place.dir, place.operationId);
  for (const entry of entries) {
    const place = placeOf(entry);
    await checkOperationFolder(place.dir, place.operationId);
    const info = await lstat(entry.trashed).catch(() => null);
    if (info !== null && (info.isFile() || info.isSymbolicLink())) await unlink(entry.trashed);
    await removeIfEmpty(dirname(entry.trashed));
    freed += entry.size;
  }
  return freed;
}

/** Removes an operation's trash folder (checked safe by the caller) once only its manifest is left. */
async function removeIfEmpty(folder: string): Promise<void> {
  const left = await readdir(folder).catch(() => null);
  if (left === null || left.some((n) => n !== MANIFEST)) return;
  await unlink(join(folder, MANIFEST)).catch(() => undefined);
  await rmdir(folder).catch(() => undefined);
}
