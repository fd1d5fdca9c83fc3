/**
 * The trusted-folder rule, like ssh's StrictModes. The engine runs as root and acts on files by path; a path is
 * only as safe as the folders on the way to it, because whoever can change a folder can swap an entry in it
 * (for a link to /etc, say) between any check the engine makes and the call that uses the path.
 *
 * - A target folder, where a step creates, moves or deletes files (an image folder, a trash folder's parent),
 *   allows no other writer at all: owned by the engine's user or root and not writable by group or others. The
 *   sticky bit is no excuse there: it stops others renaming the entries they do not own, but not their own,
 *   which they can swap for a link to any file between the scan and the tool that opens it.
 * - Every folder on the way to it (and the folder of a file a step only opens) is owned by the engine's user or
 *   root and not writable by group or others unless it has the sticky bit: then others can add names but not
 *   rename or remove the entries they do not own, so the path to a folder or file of root stays root's (/tmp).
 *
 * A symbolic link on the way counts when root or the engine's user owns it (nobody else can change it in such a
 * folder); the folders it leads to are checked the same way.
 */
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { localHostFiles, type FileInfo, type HostFiles } from './host-files';

/** The engine's user (root where the platform has no uids). */
export const ownUid = (): number => process.getuid?.() ?? 0;
/** Whether `uid` is root or the engine's user: the only owners whose folders, links and files the engine trusts. */
export const trustedOwner = (uid: number, own: number = ownUid()): boolean => uid === 0 || uid === own;

/** Links resolved on one path before giving up, as the kernel does (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** Why one folder on the way could be changed by someone else, and what to do about it. */
export interface Untrusted {
  /** The folder (or link) at fault: `dir` itself or one on the way to it. */
  path: string;
  why: string;
  fix: string;
}

/** Permission bits as `ls` users write them: 0755, 1777. */
export const modeText = (info: { mode: number }) => (info.mode & 0o7777).toString(8).padStart(4, '0');
/** The engine's user as a `chown` argument. */
export const ownName = (own: number = ownUid()) => (own === 0 ? 'root' : String(own));
const mode = modeText;

/** Why others could change the entries of one folder; `target`: the folder a step changes files in (no sticky exception). */
function whyOpen(path: string, info: FileInfo, target: boolean, own: number): Untrusted | null {
  const ownerName = ownName(own);
  if (!trustedOwner(info.uid, own)) {
    return {
      path,
      why: `belongs to user ${info.uid}, who could swap the files in it while the engine acts on them`,
      fix: `Run virt-snaptree as that user, or give the folder to ${ownerName} and close it to others: chown ${ownerName} ${path} && chmod go-w ${path}`,
    };
  }
  const sticky = (info.mode & 0o1000) !== 0;
  if ((info.mode & 0o022) === 0 || (sticky && !target)) return null;
  const who = (info.mode & 0o002) !== 0 ? 'everyone' : `its group (${info.gid})`;
  if (sticky) {
    return {
      path,
      why: `can be written by ${who} (mode ${mode(info)}); the sticky bit stops them renaming files they do not own, but not their own, which they could swap for a link to another file while the engine works on it as root`,
      fix: `Keep the images in a folder only ${ownerName} can write: chmod go-w ${path}, or move them to such a folder`,
    };
  }
  return {
    path,
    why: `can be written by ${who} (mode ${mode(info)}, no sticky bit), who could swap the files in it while the engine acts on them`,
    fix: target ? `Close it to others: chmod go-w ${path}` : `Close it to others: chmod go-w ${path} (or chmod +t ${path}, as /tmp, if others must add files)`,
  };
}

const missing = (path: string, why: string): Untrusted => ({ path, why, fix: 'Check the path' });

/** Walks `path` from / as the kernel would, checking each folder and link; the real path, or why not trusted. */
async function walk(path: string, links: { left: number }, files: HostFiles, own: number): Promise<string | Untrusted> {
  let current = '/';
  const top = whyOpen('/', await files.lstat('/'), false, own);
  if (top !== null) return top;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    // `current` holds no link, so its parent is what ".." names.
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    let info: FileInfo;
    try {
      info = await files.lstat(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return missing(next, 'does not exist');
      throw error;
    }
    if (info.isSymbolicLink()) {
      if (!trustedOwner(info.uid, own)) {
        return { path: next, why: `is a symbolic link of user ${info.uid}`, fix: `Replace it with a link or folder of ${ownName(own)}` };
      }
      if (--links.left < 0) return missing(next, 'is reached through too many symbolic links');
      const target = await walk(resolve(current, await files.readlink(next)), links, files, own);
      if (typeof target !== 'string') return target;
      current = target;
      continue;
    }
    if (!info.isDirectory()) return missing(next, 'is not a folder');
    const why = whyOpen(next, info, false, own);
    if (why !== null) return why;
    current = next;
  }
  return current;
}

/** What the engine does in a folder: changes files in it (`target`), or only opens files of root in it (`read`). */
export type FolderUse = 'target' | 'read';

/** The folder or link at fault for `use` of `dir`, or null; the real folder itself is checked last, by the rule of its use. */
export async function problemOf(dir: string, use: FolderUse, files: HostFiles = localHostFiles): Promise<Untrusted | null> {
  const own = await files.uid();
  const real = await walk(dir, { left: MAX_LINKS }, files, own);
  if (typeof real !== 'string') return real;
  return use === 'target' ? whyOpen(real, await files.lstat(real), true, own) : null;
}

function sentence(dir: string, problem: Untrusted, use: FolderUse): string {
  const where = problem.path === dir ? dir : `${dir}: ${problem.path}`;
  const what = use === 'target' ? 'creates, writes, moves and deletes files only in folders no other user can change' : 'opens files only in folders where no other user can swap them';
  return `The engine ${what}, and not in ${where}, which ${problem.why}. ${problem.fix}.`;
}

/**
 * Why the engine must not change files in `dir` (an absolute path; `use` 'read': open root's files in it): a
 * sentence naming the folder or link on the way that another user could change, and how to fix it; null when
 * trusted (see the module comment).
 */
export async function whyUntrustedFolder(dir: string, use: FolderUse = 'target', files: HostFiles = localHostFiles): Promise<string | null> {
  const problem = await problemOf(dir, use, files);
  return problem === null ? null : sentence(dir, problem, use);
}

/** Throws E_NOT_SUPPORTED, with what to fix, unless the engine may change files in `dir` (or open them, for 'read'). */
export async function checkTrustedFolder(dir: string, use: FolderUse = 'target', files: HostFiles = localHostFiles): Promise<void> {
  const problem = await problemOf(dir, use, files);
  if (problem !== null) throw new AppError('E_NOT_SUPPORTED', sentence(dir, problem, use), { path: dir, untrusted: problem.path });
}
