/**
 * Files the engine makes: new overlays and the copies it keeps. Making a file never follows or replaces what
 * stands at its path: the file is created with O_CREAT | O_EXCL | O_NOFOLLOW (which fails on anything there, a
 * dangling link included) before any tool writes it, and mode and owner are set on a descriptor opened without
 * following a link. Together with the trusted-folder rule (the folder's other users cannot rename or remove
 * the engine's entries), the tool then writes the very file the engine made.
 *
 * A new overlay stays root's (the engine's user's) until qemu-img has written it and only then goes to the owner
 * of its backing file (docs/safety.md, rule 8), which the trusted-file rule (`file-trust.ts`) has made root or the
 * engine's user: the file is never handed to a user who could swap or rewrite it while a tool works on it.
 *
 * libvirt makes a snapshot's new overlays and its saved memory itself, as root, following a link at their paths:
 * before it runs, nothing may stand at any of them (`checkOverlaysFree`).
 */
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import { resolveBackingName } from '../scan/layers';
import { qemuImgCreate } from '../tools/qemu-img';
import { readHeaderOn } from './header-on';
import { canonicalOn, errnoOf, localHostFiles, lstatOrNull, type HostFiles, type Owner } from './host-files';

function notMade(path: string): AppError {
  return new AppError('E_CHANGED', `${path} already exists; it was not made by this operation.`, { path });
}

/** The owner of the file a new overlay builds on, read from its real path (which is no link). */
async function ownerOf(backing: string, files: HostFiles): Promise<Owner> {
  const real = await canonicalOn(files, backing);
  if (real === null) throw new AppError('E_CHANGED', `${backing} is gone.`, { path: backing });
  const info = await files.lstat(real);
  return { uid: info.uid, gid: info.gid };
}

/** The backing file the qcow2 image at `path` names (read without following a link), resolved as QEMU resolves it; null when it names none or is not qcow2. */
async function backingNamed(path: string, files: HostFiles): Promise<string | null> {
  const name = (await readHeaderOn(files, path, true))?.backingName ?? null;
  const file = name === null ? null : resolveBackingName(path, name);
  return file === null ? null : canonicalOn(files, file);
}

/** What stands at a new overlay's path: nothing, this step's work (pre-created, or written by qemu-img), or something else. */
async function findOverlay(path: string, backing: string, owner: Owner, files: HostFiles): Promise<'none' | 'pre-created' | 'written' | 'foreign'> {
  const info = await lstatOrNull(files, path);
  if (info === null) return 'none';
  const own = await files.uid();
  if (!info.isFile() || info.nlink !== 1) return 'foreign';
  if (info.size === 0) return info.uid === own && (info.mode & 0o7777) === 0o600 ? 'pre-created' : 'foreign';
  if (info.uid !== own && info.uid !== owner.uid) return 'foreign';
  const want = await canonicalOn(files, backing);
  if (want === null) return 'foreign';
  try {
    return (await backingNamed(path, files)) === want ? 'written' : 'foreign';
  } catch {
    return 'foreign';
  }
}

/** New overlays are private (0600) and belong to whoever owns the file they build on (docs/safety.md, rule 8). */
export async function secureOverlay(path: string, backing: string, files: HostFiles = localHostFiles): Promise<void> {
  await files.secure(path, await ownerOf(backing, files));
}

/**
 * Creates `path` as an empty file of the engine's user, mode 0600, where nothing stood: fails with E_CHANGED on
 * anything at the path, a dangling link included.
 */
export async function createEmptyFile(path: string, files: HostFiles = localHostFiles): Promise<void> {
  await files.createEmpty(path).catch((error: unknown) => Promise.reject(errnoOf(error) === 'EEXIST' || errnoOf(error) === 'ELOOP' ? notMade(path) : error));
}

/**
 * Makes a new qcow2 overlay at `path` on `backing`, idempotently: an earlier run's file (empty and pre-created,
 * or written and naming `backing`) is taken up where it stopped; anything else at `path` is refused untouched.
 */
export async function createOverlayFile(path: string, backing: string, backingFormat: string, files: HostFiles = localHostFiles): Promise<void> {
  const owner = await ownerOf(backing, files);
  const found = await findOverlay(path, backing, owner, files);
  if (found === 'foreign') throw notMade(path);
  if (found === 'none') await createEmptyFile(path, files);
  // qemu-img opens the file the engine made: the folder is trusted, and the file is still the engine's own.
  if (found !== 'written') await qemuImgCreate(path, { backing: { path: backing, format: backingFormat } }, { runner: files.runner });
  await files.secure(path, owner);
  // In a folder of the VM's own, its files are what that file system makes them; in another one (a clone's
  // --dir), a new overlay must be private.
  if (dirname(path) !== dirname(backing)) await keptPrivate(path, files, 'a new overlay there could not be kept private');
}

/**
 * The refusal of a folder whose file system cannot hold a new file as the engine makes it (`why` it cannot,
 * `what` could not be done there): FAT and exFAT keep no file permissions and take no hard links.
 */
export function unsuitableFolder(folder: string, why: string, what: string): AppError {
  return new AppError('E_NOT_SUPPORTED', `The file system of ${folder} ${why}, as FAT and exFAT do: ${what}. Choose a folder on another file system.`, { path: folder });
}

/**
 * Throws E_NOT_SUPPORTED, removing the file just made, when its file system did not keep it private (0600): FAT
 * and exFAT keep no file permissions, and take the mode set without a word. `what` says what could not be done.
 */
export async function keptPrivate(path: string, files: HostFiles, what: string): Promise<void> {
  const info = await lstatOrNull(files, path);
  const mode = info === null ? 0o600 : info.mode & 0o7777;
  if (mode === 0o600) return;
  await files.unlink(path);
  throw unsuitableFolder(dirname(path), `keeps no file permissions (a new file there is ${mode.toString(8)}, not 600)`, what);
}

/** Removes a new overlay this step made (or began), and nothing else: only a regular file with one name, looked at without following a link. */
export async function removeOverlayFile(path: string, backing: string, files: HostFiles = localHostFiles): Promise<void> {
  // With its backing gone, only the empty file this step pre-created can be known as its own.
  const owner = (await canonicalOn(files, backing)) === null ? { uid: await files.uid(), gid: -1 } : await ownerOf(backing, files);
  const found = await findOverlay(path, backing, owner, files);
  if (found === 'pre-created' || found === 'written') await files.unlink(path);
}

/**
 * Throws E_CHANGED, before libvirt runs, when anything stands where a snapshot's new overlays go (`overlays`:
 * disk target to path): libvirt would create the file through a link (dangling or not) or over a file, as root.
 * What stands there is left as it is.
 */
export async function checkOverlaysFree(
  overlays: Record<string, string>,
  memoryFile: string | null = null,
  memoryOf = "the snapshot's saved memory",
  files: HostFiles = localHostFiles,
): Promise<void> {
  const places = [
    ...Object.entries(overlays).map(([target, path]) => ({ path, what: `the snapshot's new overlay of ${target}`, target })),
    ...(memoryFile !== null ? [{ path: memoryFile, what: memoryOf }] : []),
  ];
  for (const place of places) {
    const { path } = place;
    const info = await lstatOrNull(files, path);
    if (info === null) continue;
    const what = info.isSymbolicLink() ? `a symbolic link to ${await files.readlink(path)}` : info.isFile() ? 'a file' : 'something other than a file';
    throw new AppError(
      'E_CHANGED',
      `${path}, where ${place.what} goes, is already taken by ${what}; libvirt would write through or over it, so nothing is done and it is left as it is. Move it away and try again.`,
      { path, ...('target' in place ? { target: place.target } : {}) },
    );
  }
}

/** What libvirt's QEMU driver writes first in a saved memory file (virQEMUSaveHeader's magic, whole or partial). */
const SAVE_MAGICS = ['LibvirtQemudSave', 'LibvirtQemudPart'];

/** Whether `path` is a memory file as libvirt writes it: a regular file of one link that starts with its magic. */
export async function isMemoryFile(path: string, files: HostFiles = localHostFiles): Promise<boolean> {
  const info = await lstatOrNull(files, path).catch(() => null);
  if (info === null || !info.isFile() || info.nlink !== 1) return false;
  const start = await files.readStart(path, 16, true).catch(() => null);
  return start !== null && start.bytes.length === 16 && SAVE_MAGICS.includes(start.bytes.toString('latin1'));
}

/** Whether `path` is a regular file of one name with a qcow2 header naming a backing file (as libvirt's overlays are), looked at without following a link. */
export async function isOverlayFile(path: string, files: HostFiles = localHostFiles): Promise<boolean> {
  const info = await lstatOrNull(files, path).catch(() => null);
  if (info === null || !info.isFile() || info.nlink !== 1) return false;
  try {
    return ((await readHeaderOn(files, path, true))?.backingName ?? null) !== null;
  } catch {
    return false;
  }
}
