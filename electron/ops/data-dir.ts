/**
 * The app's data folder (journals, locks, settings) and the only ways its files are read and written. The
 * engine runs as root on people's disks, so a folder someone else can write into, or a link planted in it,
 * must never steer what the engine reads or where it writes:
 *
 * - every folder is checked before use: a real folder (not a symbolic link), owned by this user, writable by
 *   nobody else; a missing one is created 0700;
 * - files are opened with O_NOFOLLOW, so a planted link fails the open instead of being followed;
 * - a write goes to a fresh temporary file (O_CREAT | O_EXCL, which refuses a link too) and is then renamed
 *   over the final name, which replaces a link rather than following it; a first write links the temporary
 *   file to the final name instead, which fails when anything, a link included, already has that name.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import { problemOf } from './folder-trust';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;

/** The app's data folder: journals and locks. `SNAPTREE_DATA_DIR` overrides it (tests, several instances). */
export function dataDir(): string {
  if (process.env.SNAPTREE_DATA_DIR) return process.env.SNAPTREE_DATA_DIR;
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'virt-snaptree');
}

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException).code;

function unsafe(path: string, problem: string, fix: string): AppError {
  return new AppError('E_BAD_INPUT', `The data folder ${path} ${problem}, so the app will not use it. ${fix}`, { path });
}

/**
 * Makes sure `path` is a private folder of this user, creating it 0700 when missing, and returns it. Refuses,
 * saying what to fix, a symbolic link, a file, a folder of another user, or one that group or others can write.
 */
export async function privateDir(path: string): Promise<string> {
  let info = await lstat(path).catch((error: unknown) => {
    if (errnoOf(error) === 'ENOENT') return null;
    throw error;
  });
  if (info === null) {
    await mkdir(path, { recursive: true, mode: 0o700 });
    info = await lstat(path);
  }
  const other = `Set SNAPTREE_DATA_DIR to a folder only you can write, or`;
  if (info.isSymbolicLink()) throw unsafe(path, 'is a symbolic link', `${other} replace the link with a real folder (mkdir -m 700).`);
  if (!info.isDirectory()) throw unsafe(path, 'is not a folder', `${other} move the file away.`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw unsafe(path, `belongs to user ${info.uid}, not to you (user ${uid})`, `${other} take it over: chown ${uid} ${path}`);
  }
  if ((info.mode & 0o022) !== 0) {
    const who = (info.mode & 0o002) !== 0 ? 'everyone' : 'its group';
    throw unsafe(path, `can be written by ${who} (mode ${(info.mode & 0o777).toString(8)})`, `${other} restrict it: chmod 700 ${path}`);
  }
  return path;
}

/**
 * Refuses a data folder inside a folder that another user could change (the folder rule the engine applies to
 * the folders of files it opens: docs/safety.md, rule 10): otherwise the data folder itself could be swapped
 * for another between the check and the use, and a forged journal fed to recovery.
 */
async function checkAncestors(path: string): Promise<void> {
  const problem = await problemOf(dirname(path), 'read');
  if (problem !== null) {
    throw unsafe(path, `is inside ${problem.path}, which ${problem.why}`, 'Set SNAPTREE_DATA_DIR to a folder inside folders only you and root can change.');
  }
}

/** The checked data folder, or a checked folder inside it (created 0700 when missing). */
export async function dataSubdir(...parts: string[]): Promise<string> {
  let dir = await privateDir(dataDir());
  await checkAncestors(dir);
  for (const part of parts) dir = await privateDir(join(dir, part));
  return dir;
}

function notAFile(path: string): AppError {
  return new AppError('E_BAD_INPUT', `${path} is a symbolic link or not a plain file, so the app will not read or replace it. Remove it.`, { path });
}

/** A file's text, read without following a link; null when there is no such file. */
export async function readPrivateFile(path: string): Promise<string | null> {
  return (await readPrivateBytes(path))?.toString('utf8') ?? null;
}

/** A file's bytes, read without following a link; null when there is no such file. */
export async function readPrivateBytes(path: string): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(path, O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    if (errnoOf(error) === 'ELOOP') throw notAFile(path);
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile()) throw notAFile(path);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Whether `path` names something already (a dangling link included). */
export async function pathTaken(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (error: unknown) => {
      if (errnoOf(error) === 'ENOENT') return false;
      throw error;
    },
  );
}

/** Writes a new temporary file beside `path` (0600, flushed) and returns its name. */
export async function writeTempBeside(path: string, text: string | Uint8Array): Promise<string> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` atomically with `text` (0600; text or bytes). With `exclusive`, only creates it: returns false, writing
 * nothing, when the name is taken. A symbolic link at `path` is refused, and even one planted after that
 * check is replaced by the rename, never written through.
 */
export async function writePrivateFile(path: string, text: string | Uint8Array, options: { exclusive?: boolean } = {}): Promise<boolean> {
  if (!options.exclusive) {
    const info = await lstat(path).catch(() => null);
    if (info !== null && !info.isFile()) throw notAFile(path);
  }
  const temp = await writeTempBeside(path, text);
  try {
    if (options.exclusive) {
      try {
        await link(temp, path);
      } catch (error) {
        if (errnoOf(error) === 'EEXIST') return false;
        throw error;
      }
    } else {
      await rename(temp, path);
    }
  } finally {
    await rm(temp, { force: true });
  }
  await syncDir(dirname(path));
  return true;
}
