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
import { memoryFingerprintOf } from '../scan/file-view';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, open, readlink, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { AppError } from '../../shared/errors';
import { canonical, resolveBackingName } from '../scan/layers';
import { parseQcow2Header, readQcow2Header } from '../tools/qcow2-header';
import { qemuImgCreate } from '../tools/qemu-img';
import { ownUid } from './folder-trust';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;
/** Enough for a qcow2 header with its extensions and backing name as qemu-img writes them. */
const HEADER_BYTES = 64 * 1024;

interface Owner {
  uid: number;
  gid: number;
}

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException).code;
const lstatOrNull = (path: string): Promise<Stats | null> => lstat(path).catch((error: unknown) => (errnoOf(error) === 'ENOENT' ? null : Promise.reject(error)));

function notMade(path: string): AppError {
  return new AppError('E_CHANGED', `${path} already exists; it was not made by this operation.`, { path });
}

/** Opens `path` read-only without following a link; a link there is refused as not the engine's file. */
async function openNoFollow(path: string): Promise<FileHandle> {
  try {
    return await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (errnoOf(error) === 'ELOOP') throw new AppError('E_CHANGED', `${path} is a symbolic link; the engine does not change files through links.`, { path });
    throw error;
  }
}

/** The owner of the file a new overlay builds on, read from its real path opened without following a link. */
async function ownerOf(backing: string): Promise<Owner> {
  const real = canonical(backing);
  if (real === null) throw new AppError('E_CHANGED', `${backing} is gone.`, { path: backing });
  const handle = await openNoFollow(real);
  try {
    const info = await handle.stat();
    return { uid: info.uid, gid: info.gid };
  } finally {
    await handle.close();
  }
}

/** The backing file a qcow2 image at `path` names, resolved as QEMU resolves it; null when it names none or is not qcow2. */
async function backingNamed(path: string, handle: FileHandle): Promise<string | null> {
  const buf = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await handle.read(buf, 0, HEADER_BYTES, 0);
  const name = parseQcow2Header(buf.subarray(0, bytesRead))?.backingName ?? null;
  const file = name === null ? null : resolveBackingName(path, name);
  return file === null ? null : canonical(file);
}

/** What stands at a new overlay's path: nothing, this step's work (pre-created, or written by qemu-img), or something else. */
async function findOverlay(path: string, backing: string, owner: Owner): Promise<'none' | 'pre-created' | 'written' | 'foreign'> {
  const info = await lstatOrNull(path);
  if (info === null) return 'none';
  if (!info.isFile() || info.nlink !== 1) return 'foreign';
  if (info.size === 0) return info.uid === ownUid() && (info.mode & 0o7777) === 0o600 ? 'pre-created' : 'foreign';
  if (info.uid !== ownUid() && info.uid !== owner.uid) return 'foreign';
  const want = canonical(backing);
  if (want === null) return 'foreign';
  const handle = await openNoFollow(path);
  try {
    return (await backingNamed(path, handle)) === want ? 'written' : 'foreign';
  } catch {
    return 'foreign';
  } finally {
    await handle.close();
  }
}

/**
 * Gives a file the engine made (or libvirt made for it) mode 0600 and an owner, through a descriptor opened
 * without following a link; refuses a link, anything but a regular file, and a file with other names (a hard link).
 */
export async function secureFile(path: string, owner: Owner | null): Promise<void> {
  const handle = await openNoFollow(path);
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.nlink !== 1) throw new AppError('E_CHANGED', `${path} is not a file of its own (a special file or a hard link); it is left as it is.`, { path });
    await handle.chmod(0o600);
    if (owner !== null) await handle.chown(owner.uid, owner.gid);
  } finally {
    await handle.close();
  }
}

/** New overlays are private (0600) and belong to whoever owns the file they build on (docs/safety.md, rule 8). */
export async function secureOverlay(path: string, backing: string): Promise<void> {
  await secureFile(path, await ownerOf(backing));
}

/**
 * Creates `path` as an empty file of the engine's user, mode 0600, where nothing stood: fails with E_CHANGED on
 * anything at the path, a dangling link included.
 */
export async function createEmptyFile(path: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (error) {
    if (errnoOf(error) === 'EEXIST' || errnoOf(error) === 'ELOOP') throw notMade(path);
    throw error;
  }
  try {
    // The umask may have taken bits off, never added them; set the mode exactly.
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
}

/**
 * Makes a new qcow2 overlay at `path` on `backing`, idempotently: an earlier run's file (empty and pre-created,
 * or written and naming `backing`) is taken up where it stopped; anything else at `path` is refused untouched.
 */
export async function createOverlayFile(path: string, backing: string, backingFormat: string): Promise<void> {
  const owner = await ownerOf(backing);
  const found = await findOverlay(path, backing, owner);
  if (found === 'foreign') throw notMade(path);
  if (found === 'none') await createEmptyFile(path);
  // qemu-img opens the file the engine made: the folder is trusted, and the file is still the engine's own.
  if (found !== 'written') await qemuImgCreate(path, { backing: { path: backing, format: backingFormat } });
  await secureFile(path, owner);
}

/** Removes a new overlay this step made (or began), and nothing else: only a regular file with one name, looked at without following a link. */
export async function removeOverlayFile(path: string, backing: string): Promise<void> {
  // With its backing gone, only the empty file this step pre-created can be known as its own.
  const owner = canonical(backing) === null ? { uid: ownUid(), gid: -1 } : await ownerOf(backing);
  const found = await findOverlay(path, backing, owner);
  if (found === 'pre-created' || found === 'written') await unlink(path);
}

/**
 * Throws E_CHANGED, before libvirt runs, when anything stands where a snapshot's new overlays go (`overlays`:
 * disk target to path): libvirt would create the file through a link (dangling or not) or over a file, as root.
 * What stands there is left as it is.
 */
export async function checkOverlaysFree(overlays: Record<string, string>, memoryFile: string | null = null, memoryOf = "the snapshot's saved memory"): Promise<void> {
  const places = [
    ...Object.entries(overlays).map(([target, path]) => ({ path, what: `the snapshot's new overlay of ${target}`, target })),
    ...(memoryFile !== null ? [{ path: memoryFile, what: memoryOf }] : []),
  ];
  for (const place of places) {
    const { path } = place;
    const info = await lstatOrNull(path);
    if (info === null) continue;
    const what = info.isSymbolicLink() ? `a symbolic link to ${await readlink(path)}` : info.isFile() ? 'a file' : 'something other than a file';
    throw new AppError(
      'E_CHANGED',
      `${path}, where ${place.what} goes, is already taken by ${what}; libvirt would write through or over it, so nothing is done and it is left as it is. Move it away and try again.`,
      { path, ...('target' in place ? { target: place.target } : {}) },
    );
  }
}

/**
 * A saved memory file as it is now: inode, size and modification time, or null when there is no regular file. A file
 * put at its path later (another save, one brought back from the trash) has another.
 */
export async function memoryFingerprint(path: string): Promise<string | null> {
  const info = await lstat(path, { bigint: true }).catch(() => null);
  return info?.isFile() === true ? memoryFingerprintOf(info) : null;
}

/** What libvirt's QEMU driver writes first in a saved memory file (virQEMUSaveHeader's magic, whole or partial). */
const SAVE_MAGICS = ['LibvirtQemudSave', 'LibvirtQemudPart'];

/** Whether `path` is a memory file as libvirt writes it: a regular file of one link that starts with its magic. */
export async function isMemoryFile(path: string): Promise<boolean> {
  const info = await lstatOrNull(path).catch(() => null);
  if (info === null || !info.isFile() || info.nlink !== 1) return false;
  const handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch(() => null);
  if (handle === null) return false;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(16), 0, 16, 0);
    return bytesRead === 16 && SAVE_MAGICS.includes(buffer.toString('latin1'));
  } finally {
    await handle.close();
  }
}

/** Whether `path` is a regular file of one name with a qcow2 header naming a backing file (as libvirt's overlays are), looked at without following a link. */
export async function isOverlayFile(path: string): Promise<boolean> {
  const info = await lstatOrNull(path).catch(() => null);
  if (info === null || !info.isFile() || info.nlink !== 1) return false;
  try {
    return (readQcow2Header(path)?.backingName ?? null) !== null;
  } catch {
    return false;
  }
}
