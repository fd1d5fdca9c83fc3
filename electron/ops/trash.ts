/**
 * The trash: files the app "deletes" are moved into `.snaptree-trash/<operation>/` beside them (a rename, never
 * a copy). Listing, restoring and emptying are explicit acts of their own.
 */
import { readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { TRASH_DIR } from '../../shared/ops/plan-helpers';
import type { TrashEntry } from '../../shared/ops/results';
import { readQcow2Header } from '../tools/qcow2-header';

/** Written into each operation's trash folder: which domain's files these were. */
const MANIFEST = '.operation.json';

export interface TrashManifest {
  operationId: string;
  domain: string;
  op: string;
}

export async function writeTrashManifest(folder: string, manifest: TrashManifest): Promise<void> {
  await writeFile(join(folder, MANIFEST), `${JSON.stringify(manifest)}\n`, { mode: 0o600 });
}

/** The file a trashed qcow2 image was built on, resolved as it was at its original place; null for others. */
function backingOf(trashed: string, originalDir: string): string | null {
  let name: string | null = null;
  try {
    name = readQcow2Header(trashed)?.backingName ?? null;
  } catch {
    return null;
  }
  return name === null ? null : resolve(originalDir, name);
}

/** Lists the trash folders beside the given directories. */
export async function listTrash(dirs: Iterable<string>): Promise<TrashEntry[]> {
  const out: TrashEntry[] = [];
  for (const dir of new Set(dirs)) {
    const trash = join(dir, TRASH_DIR);
    const operations = await readdir(trash).catch(() => [] as string[]);
    for (const operationId of operations) {
      const folder = join(trash, operationId);
      const manifest = await readFile(join(folder, MANIFEST), 'utf8').then(
        (text) => JSON.parse(text) as TrashManifest,
        () => null,
      );
      for (const name of await readdir(folder).catch(() => [] as string[])) {
        if (name === MANIFEST) continue;
        const trashed = join(folder, name);
        const info = await stat(trashed).catch(() => null);
        if (info === null || !info.isFile()) continue;
        const original = join(dir, name);
        out.push({ operationId, domain: manifest?.domain ?? null, original, trashed, size: info.blocks * 512, trashedAt: info.ctime.toISOString(), backing: backingOf(trashed, dir) });
      }
    }
  }
  return out.sort((a, b) => a.trashedAt.localeCompare(b.trashedAt) || a.original.localeCompare(b.original));
}

/** Moves trashed files back where they were; refuses when something new stands there. */
export async function restoreTrash(entries: TrashEntry[]): Promise<string[]> {
  for (const entry of entries) {
    if (await stat(entry.original).then(() => true, () => false)) {
      throw new AppError('E_NAME_TAKEN', `${entry.original} exists again; move it away before restoring its old version.`, { path: entry.original });
    }
  }
  for (const entry of entries) {
    await rename(entry.trashed, entry.original);
    await removeIfEmpty(dirname(entry.trashed));
  }
  return entries.map((e) => e.original);
}

/** Deletes trashed files for good. */
export async function emptyTrash(entries: TrashEntry[]): Promise<number> {
  let freed = 0;
  for (const entry of entries) {
    if (basename(dirname(dirname(entry.trashed))) !== TRASH_DIR) throw new AppError('E_BAD_INPUT', `${entry.trashed} is not in a trash folder.`);
    await rm(entry.trashed, { force: true });
    await removeIfEmpty(dirname(entry.trashed));
    freed += entry.size;
  }
  return freed;
}

/** Removes an operation's trash folder once only its manifest is left. */
async function removeIfEmpty(folder: string): Promise<void> {
  const left = await readdir(folder).catch(() => null);
  if (left === null || left.some((n) => n !== MANIFEST)) return;
  await rm(join(folder, MANIFEST), { force: true });
  await rmdir(folder).catch(() => undefined);
}
