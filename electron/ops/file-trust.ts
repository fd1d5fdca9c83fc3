/**
 * The trusted-file rule. qemu-img and libvirt, run by the engine as root, read every image header again when
 * they open it, and a header can name other files: a backing file, an external data file. Whoever can rewrite
 * one image of a chain can therefore make the tool read or write any file on the host. So every file a step has
 * a tool open (the file it writes and every layer of the chains it opens) and every file it moves must be a
 * regular file owned by root or the engine's user and not writable by group or others, in a folder where no
 * other user can swap it; a file a tool writes must also have one name only (a second name would be changed too).
 *
 * Invariant: once a file passes, only root or the engine's user can change it, its header included, so a check
 * before the first step holds for the whole operation.
 */
import { dirname, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { checkTrustedFolder, modeText, ownName, trustedOwner } from './folder-trust';
import { localHostFiles, lstatOrNull, type FileInfo, type HostFiles } from './host-files';

/** Links followed from one path before giving up, as the kernel does (MAXSYMLINKS). */
const MAX_LINKS = 40;

const REWRITE =
  'another user could rewrite it while the engine works as root: a header naming another file would make qemu-img read or write that file';

function refused(path: string, at: string, why: string, fix: string, info?: FileInfo): AppError {
  const what = at === path ? path : `${path} (through the link to ${at})`;
  return new AppError('E_NOT_SUPPORTED', `The engine does not open ${what}: it ${why}. ${fix}.`, {
    path,
    untrusted: at,
    ...(info ? { owner: info.uid, mode: modeText(info) } : {}),
  });
}

/** Throws unless only root or the engine's user can change the regular file `info` describes (`writes`: and it has one name). */
function check(path: string, at: string, info: FileInfo, writes: boolean, own: number): void {
  const fix = `While the VM is off: chown ${ownName(own)} ${at} && chmod go-w ${at}`;
  if (!trustedOwner(info.uid, own)) throw refused(path, at, `belongs to user ${info.uid} (mode ${modeText(info)}); ${REWRITE}`, fix, info);
  if ((info.mode & 0o022) !== 0) {
    const who = (info.mode & 0o002) !== 0 ? 'everyone' : `its group (${info.gid})`;
    throw refused(path, at, `can be written by ${who} (owner ${info.uid}, mode ${modeText(info)}); ${REWRITE}`, fix, info);
  }
  if (writes && info.nlink !== 1) {
    throw refused(
      path,
      at,
      `has ${info.nlink} names (hard links), and writing it would change the file under its other names too`,
      `While the VM is off, remove its other names (find / -xdev -samefile ${at}) or replace it with a copy of its own`,
      info,
    );
  }
}

/**
 * Checks one file a step has a tool open (`writes`: and write) or moves: looked at without following a link; a
 * link counts only when root or the engine's user owns it, and then what it leads to is checked the same way.
 * The folder of each entry is checked too (`folder-trust.ts`, rule 'read'), once per folder in `folders`.
 * Returns 'missing' when nothing stands at `path`; throws E_NOT_SUPPORTED naming the file, its owner and mode,
 * why and what to fix.
 */
export async function checkTrustedFile(path: string, writes: boolean, folders: Set<string> = new Set(), files: HostFiles = localHostFiles): Promise<'ok' | 'missing'> {
  const own = await files.uid();
  let at = path;
  for (let left = MAX_LINKS; ; left--) {
    // The folder first: only in a folder nobody else can change does what lstat sees stay in place.
    const folder = dirname(at);
    if (!folders.has(folder)) {
      await checkTrustedFolder(folder, 'read', files);
      folders.add(folder);
    }
    const info = await lstatOrNull(files, at);
    if (info === null) {
      if (at === path) return 'missing';
      throw new AppError('E_CHANGED', `${path} is a symbolic link to ${at}, which does not exist.`, { path, untrusted: at });
    }
    if (info.isSymbolicLink()) {
      if (!trustedOwner(info.uid, own)) throw refused(path, at, `is a symbolic link of user ${info.uid}, who could point it at any file`, `Replace it with the file itself, owned by ${ownName(own)}`);
      if (left === 0) throw refused(path, at, 'is reached through too many symbolic links', 'Replace the links with the file itself');
      at = resolve(dirname(at), await files.readlink(at));
      continue;
    }
    if (!info.isFile()) throw refused(path, at, 'is not a regular file', 'Move it away');
    check(path, at, info, writes, own);
    return 'ok';
  }
}
