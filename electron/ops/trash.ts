/**
 * The trash: files the app "deletes" are moved into `.snaptree-trash/<operation>/` beside them (a rename, never
 * a copy). Listing, restoring and emptying are explicit acts of their own.
 */
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import { isOperationId } from '../../shared/ops/trash-names';
import type { TrashEntry } from '../../shared/ops/results';
import { resolveBackingName } from '../scan/layers';
import { readHeaderOn } from './header-on';
import { errnoOf, lexists, localHostFiles, type HostFiles } from './host-files';
import { checkMove, checkOperationFolder, existingTrash, checkPrivateDir, MANIFEST, ownFileError, splitTrashed } from './trash-folder';

export interface TrashManifest {
  operationId: string;
  domain: string;
  op: string;
}

/** Writes the manifest into an operation folder `ensureOperationFolder` made; never through a planted link. */
export async function writeTrashManifest(folder: string, manifest: TrashManifest, files: HostFiles = localHostFiles): Promise<void> {
  const path = join(folder, MANIFEST);
  await files.writeOwnFile(path, `${JSON.stringify(manifest)}\n`).catch((error: unknown) => Promise.reject(ownFileError(path, error)));
}

/** The manifest of an operation folder; null when it has none or it is not JSON; throws when it is not the engine's own file. */
async function readTrashManifest(folder: string, files: HostFiles): Promise<TrashManifest | null> {
  const path = join(folder, MANIFEST);
  let text: string;
  try {
    text = await files.readOwnFile(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw ownFileError(path, error);
  }
  try {
    return JSON.parse(text) as TrashManifest;
  } catch {
    return null;
  }
}

/** The file a trashed qcow2 image was built on, resolved as it was at its original place; null for others. */
async function backingOf(trashed: string, originalDir: string, files: HostFiles): Promise<string | null> {
  let name: string | null = null;
  try {
    name = (await readHeaderOn(files, trashed))?.backingName ?? null;
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
export async function listTrash(dirs: Iterable<string>, files: HostFiles = localHostFiles): Promise<TrashEntry[]> {
  const out: TrashEntry[] = [];
  const reals = await Promise.all([...new Set(dirs)].map((dir) => files.realpath(dir).catch(() => null)));
  for (const dir of new Set(reals.filter((d): d is string => d !== null))) {
    const trash = await existingTrash(dir, files);
    if (trash === null) continue;
    for (const operationId of (await files.readdir(trash)).filter(isOperationId)) {
      const folder = join(trash, operationId);
      await checkPrivateDir(folder, files);
      const manifest = await readTrashManifest(folder, files);
      for (const name of await files.readdir(folder)) {
        if (name === MANIFEST) continue;
        const trashed = join(folder, name);
        const info = await files.lstat(trashed).catch(() => null);
        if (info === null || !(info.isFile() || info.isSymbolicLink())) continue;
        const original = join(dir, name);
        const backing = info.isFile() ? await backingOf(trashed, dir, files) : null;
        const trashedAt = new Date(info.ctimeMs).toISOString();
        out.push({ operationId, domain: manifest?.domain ?? null, original, trashed, size: info.blocks * 512, trashedAt, backing });
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

/**
 * Moves trashed files back where they were; refuses, before moving any, when something new stands there or a
 * folder is not safe (the image folder not trusted, the trash not the engine's own).
 */
export async function restoreTrash(entries: TrashEntry[], files: HostFiles = localHostFiles): Promise<string[]> {
  const places = entries.map(placeOf);
  for (const [i, place] of places.entries()) {
    await checkOperationFolder(place.dir, place.operationId, files);
    if (await lexists(files, place.original)) {
      throw new AppError('E_NAME_TAKEN', `${place.original} exists again; move it away before restoring its old version.`, { path: place.original });
    }
    if (!(await lexists(files, (entries[i] as TrashEntry).trashed))) throw new AppError('E_CHANGED', `${(entries[i] as TrashEntry).trashed} is gone.`);
  }
  for (const [i, place] of places.entries()) {
    const trashed = (entries[i] as TrashEntry).trashed;
    await checkOperationFolder(place.dir, place.operationId, files);
    await checkMove(place.dir, trashed, place.original, files);
    await files.rename(trashed, place.original);
    await removeIfEmpty(dirname(trashed), files);
  }
  return places.map((p) => p.original);
}

/**
 * Deletes trashed files for good: only regular files and links, only inside the engine's own trash folders of
 * trusted image folders (checked for all entries before the first goes).
 */
export async function emptyTrash(entries: TrashEntry[], files: HostFiles = localHostFiles): Promise<number> {
  let freed = 0;
  // Every folder is checked (trusted, the trash the engine's own) before the first file goes.
  for (const place of entries.map(placeOf)) await checkOperationFolder(place.dir, place.operationId, files);
  for (const entry of entries) {
    const place = placeOf(entry);
    await checkOperationFolder(place.dir, place.operationId, files);
    const info = await files.lstat(entry.trashed).catch(() => null);
    if (info !== null && (info.isFile() || info.isSymbolicLink())) await files.unlink(entry.trashed);
    await removeIfEmpty(dirname(entry.trashed), files);
    freed += entry.size;
  }
  return freed;
}

/** Removes an operation's trash folder (checked safe by the caller) once only its manifest is left. */
async function removeIfEmpty(folder: string, files: HostFiles): Promise<void> {
  const left = await files.readdir(folder).catch(() => null);
  if (left === null || left.some((n) => n !== MANIFEST)) return;
  await files.unlink(join(folder, MANIFEST)).catch(() => undefined);
  await files.rmdir(folder).catch(() => undefined);
}
