/**
 * The trusted-folder rule, like ssh's StrictModes. The engine runs as root and acts on files by path; a path is
 * only as safe as the folders on the way to it, because whoever can change a folder can swap an entry in it
 * (for a link to /etc, say) between any check the engine makes and the call that uses the path. So the engine
 * creates, writes, moves, chowns and deletes files only in folders that no other user can change: every folder
 * from / down is a real directory owned by the engine's user or root and not writable by group or others,
 * unless it has the sticky bit (then others can add names but not rename or remove the entries they do not
 * own). A symbolic link on the way counts when root or the engine's user owns it (nobody else can change it in
 * such a folder); the folders it leads to are checked the same way.
 */
import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';

const ownUid = (): number => process.getuid?.() ?? 0;
const trustedOwner = (uid: number): boolean => uid === 0 || uid === ownUid();

/** Links resolved on one path before giving up, as the kernel does (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** Why one folder on the way could be changed by someone else, and what to do about it. */
interface Untrusted {
  /** The folder (or link) at fault: `dir` itself or one on the way to it. */
  path: string;
  why: string;
  fix: string;
}

const mode = (info: Stats) => (info.mode & 0o7777).toString(8).padStart(4, '0');
const ownName = () => (ownUid() === 0 ? 'root' : String(ownUid()));

function whyOpen(path: string, info: Stats): Untrusted | null {
  if (!trustedOwner(info.uid)) {
    return {
      path,
      why: `belongs to user ${info.uid}, who could swap the files in it while the engine acts on them`,
      fix: `Run virt-snaptree as that user, or give the folder to ${ownName()} and close it to others: chown ${ownName()} ${path} && chmod go-w ${path}`,
    };
  }
  const sticky = (info.mode & 0o1000) !== 0;
  if ((info.mode & 0o022) === 0 || sticky) return null;
  const who = (info.mode & 0o002) !== 0 ? 'everyone' : `its group (${info.gid})`;
  return {
    path,
    why: `can be written by ${who} (mode ${mode(info)}, no sticky bit), who could swap the files in it while the engine acts on them`,
    fix: `Close it to others: chmod go-w ${path} (or chmod +t ${path}, as /tmp, if others must add files)`,
  };
}

const missing = (path: string, why: string): Untrusted => ({ path, why, fix: 'Check the path' });

/** Walks `path` from / as the kernel would, checking each folder and link; the real path, or why not trusted. */
async function walk(path: string, links: { left: number }): Promise<string | Untrusted> {
  let current = '/';
  const top = whyOpen('/', await lstat('/'));
  if (top !== null) return top;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    // `current` holds no link, so its parent is what ".." names.
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    let info: Stats;
    try {
      info = await lstat(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return missing(next, 'does not exist');
      throw error;
    }
    if (info.isSymbolicLink()) {
      if (!trustedOwner(info.uid)) {
        return { path: next, why: `is a symbolic link of user ${info.uid}`, fix: `Replace it with a link or folder of ${ownName()}` };
      }
      if (--links.left < 0) return missing(next, 'is reached through too many symbolic links');
      const target = await walk(resolve(current, await readlink(next)), links);
      if (typeof target !== 'string') return target;
      current = target;
      continue;
    }
    if (!info.isDirectory()) return missing(next, 'is not a folder');
    const why = whyOpen(next, info);
    if (why !== null) return why;
    current = next;
  }
  return current;
}

function sentence(dir: string, problem: Untrusted): string {
  const where = problem.path === dir ? dir : `${dir}: ${problem.path}`;
  return `The engine creates, writes, moves and deletes files only in folders no other user can change, and not in ${where}, which ${problem.why}. ${problem.fix}.`;
}

/**
 * Why the engine must not change files in `dir` (an absolute path): a sentence naming the folder or link on
 * the way that another user could change, and how to fix it; null when every folder on the way is trusted.
 */
export async function whyUntrustedFolder(dir: string): Promise<string | null> {
  const result = await walk(dir, { left: MAX_LINKS });
  return typeof result === 'string' ? null : sentence(dir, result);
}

/** Throws E_NOT_SUPPORTED, with what to fix, unless the engine may change files in `dir` (see the module comment). */
export async function checkTrustedFolder(dir: string): Promise<void> {
  const result = await walk(dir, { left: MAX_LINKS });
  if (typeof result !== 'string') throw new AppError('E_NOT_SUPPORTED', sentence(dir, result), { path: dir, untrusted: result.path });
}
