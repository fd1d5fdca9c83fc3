/**
 * The new files of a clone or an export: standalone images (`convert`) and a variable store's copy
 * (`copy-nvram`). Each is written under a hidden temporary name of its operation in the target's folder, made
 * where nothing stood (O_EXCL, new-files.ts), secured (0600, the owner of what it copies), and only then given its
 * name by a hard link, which never replaces what stands there, before the temporary name goes. So a target is
 * either absent or whole, a half-written file is always the operation's own temporary one, and nothing the
 * operation did not make is written over or removed (docs/safety.md, "Clones and exports").
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Step } from '../../shared/ops/plan';
import { qemuImgCompare } from '../tools/qemu-img';
import { canonicalOn, errnoOf, lstatOrNull, type FileInfo, type HostFiles, type Owner } from './host-files';
import { createEmptyFile, keptPrivate, unsuitableFolder } from './new-files';

type ConvertStep = Extract<Step, { kind: 'convert' }>;
type NvramStep = Extract<Step, { kind: 'copy-nvram' }>;

/** The hidden temporary name the operation writes `target` under, in the same folder (short whatever the name's length). */
export function partFileOf(target: string, operationId: string): string {
  const tag = createHash('sha256').update(basename(target)).digest('hex').slice(0, 12);
  return join(dirname(target), `.snaptree-part-${operationId}-${tag}`);
}

/** The owner of `path`'s real file, whom a copy of it is given. */
export async function ownerOfFile(path: string, files: HostFiles): Promise<Owner> {
  const real = await canonicalOn(files, path);
  if (real === null) throw new AppError('E_CHANGED', `${path} is gone.`, { path });
  const info = await files.lstat(real);
  return { uid: info.uid, gid: info.gid };
}

/** Throws, naming the folder, unless the folder a new file goes in exists as a folder. */
export async function checkFolderThere(target: string, files: HostFiles): Promise<void> {
  const folder = dirname(target);
  const info = await lstatOrNull(files, folder).catch(() => null);
  if (info === null) throw new AppError('E_NOT_FOUND', `The folder ${folder} does not exist; create it first, or choose another.`, { path: folder });
  if (!info.isDirectory()) throw new AppError('E_BAD_INPUT', `${folder} is not a folder (or is a symbolic link to one); choose a folder itself.`, { path: folder });
}

/**
 * Throws E_NAME_TAKEN, leaving it as it is, when anything stands at `target` (a dangling link included); the
 * message ends with what the user can change (`instead`: an export has a folder to choose, no name).
 */
export async function checkTargetFree(target: string, what: string, files: HostFiles, instead = 'choose another name'): Promise<void> {
  await checkFolderThere(target, files);
  const info = await lstatOrNull(files, target);
  if (info === null) return;
  throw new AppError('E_NAME_TAKEN', `${target}, where ${what} goes, already exists; nothing is written over. Move it away or ${instead}.`, { path: target });
}

const sameFile = (a: FileInfo, b: FileInfo) => a.dev === b.dev && a.ino === b.ino;

/** Whether `info` is a private regular file of one name (two while it is being placed) of the engine or `owner`. */
function privateFile(info: FileInfo | null, own: number, owner: Owner | null, names = 1): boolean {
  return info !== null && info.isFile() && info.nlink <= names && (info.mode & 0o7777) === 0o600 && (info.uid === own || info.uid === owner?.uid);
}

/**
 * Removes the temporary file of an earlier run, which can only be this operation's (its name holds the
 * operation's id, in a folder no other user can change); anything but a private regular file there is refused.
 */
export async function removePart(part: string, owner: Owner | null, files: HostFiles): Promise<void> {
  const info = await lstatOrNull(files, part);
  if (info === null) return;
  if (!privateFile(info, await files.uid(), owner, 2)) throw new AppError('E_CHANGED', `${part} is not the temporary file this operation writes; it is left as it is.`, { path: part });
  await endWritersOf(part, files);
  // A crash right after makePart's trial link leaves that second name.
  const probe = await lstatOrNull(files, linkProbeOf(part));
  if (probe !== null && probe.dev === info.dev && probe.ino === info.ino) await files.unlink(linkProbeOf(part));
  await files.unlink(part);
}

/**
 * Ends a qemu-img an earlier run left writing the temporary file `part` (the engine was killed mid-copy: qemu-img
 * outlives it, ignoring the broken pipe of its progress). Only this operation writes that name, and its copy is
 * dropped; removing the name alone would leave qemu-img writing on, unseen, into the file system's free space,
 * holding the source's files against writers. Without pgrep on the host there is nothing to find.
 */
async function endWritersOf(part: string, files: HostFiles): Promise<void> {
  const found = await files.runner.run('pgrep', ['-a', '-x', 'qemu-img']).catch(() => null);
  const lines = found?.exitCode === 0 ? found.stdout.split('\n') : [];
  // `pid command line`: the temporary file is a convert's last argument.
  const pids = lines.flatMap((line) => {
    const m = /^(\d+) (.*)$/.exec(line);
    return m?.[1] !== undefined && m[2]?.endsWith(` ${part}`) === true ? [m[1]] : [];
  });
  for (const pid of pids) await files.runner.run('kill', ['-s', 'KILL', pid]).catch(() => null);
}

/**
 * Where a run that may have run before stands: `placed` when the target is the temporary file's second name (a
 * crash between the link and the unlink), `part` when only the temporary file is there, `target` when only the
 * target is, `none` when neither is.
 */
export async function partState(part: string, target: string, files: HostFiles): Promise<'placed' | 'part' | 'target' | 'none'> {
  const [p, t] = [await lstatOrNull(files, part), await lstatOrNull(files, target)];
  if (p !== null && t !== null && sameFile(p, t)) return 'placed';
  if (t !== null) return 'target';
  return p !== null ? 'part' : 'none';
}

/** Errors of a file system that takes no second name for a file (FAT, exFAT, some FUSE ones). */
const NO_HARD_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'];

/** Gives the finished temporary file its name, where nothing may stand, then drops the temporary name. */
export async function placePart(part: string, target: string, files: HostFiles): Promise<void> {
  await files.link(part, target).catch((error: unknown) => {
    const code = errnoOf(error);
    if (code === 'EEXIST') throw new AppError('E_NAME_TAKEN', `${target} appeared while it was being written; nothing is written over it.`, { path: target });
    if (code !== undefined && NO_HARD_LINKS.includes(code)) throw unsuitableFolder(dirname(target), `takes no hard links (${code})`, COPY_NEEDS);
    throw error;
  });
  await files.unlink(part);
}

/** What a copy needs of its folder's file system. */
const COPY_NEEDS = 'a copy there could not be named safely and kept private (mode 0600)';

/**
 * Makes the temporary file, empty and private, where nothing stands (O_EXCL): a tool then writes the engine's own
 * file. On a file system that keeps no permissions (FAT, exFAT) it would be neither private nor known again as
 * this operation's own: it goes again at once, before anything is written, and the folder is refused.
 */
export async function makePart(part: string, files: HostFiles): Promise<void> {
  await createEmptyFile(part, files);
  await keptPrivate(part, files, COPY_NEEDS);
  // A FAT stick mounted with fmask=0177 shows new files as 0600, yet takes no hard link: tried now, not after the copy.
  const probe = linkProbeOf(part);
  await files.link(part, probe).then(
    () => files.unlink(probe),
    async (error: unknown) => {
      const code = errnoOf(error);
      if (code === undefined || !NO_HARD_LINKS.includes(code)) throw error;
      await files.unlink(part);
      throw unsuitableFolder(dirname(part), `takes no hard links (${code})`, COPY_NEEDS);
    },
  );
}

/** The second name `makePart` tries its temporary file under, beside it (the operation's own, as that file is). */
function linkProbeOf(part: string): string {
  return `${part}-link`;
}

/**
 * Whether the image at the step's target is the one the step wrote, once its temporary name is gone: a private
 * regular file of one name, of the engine or the source's owner, that reads what the source reads. The step
 * found its place free before it started, in a folder no other user can change.
 */
export async function isConvertedTarget(step: ConvertStep, files: HostFiles): Promise<boolean> {
  const info = await lstatOrNull(files, step.target).catch(() => null);
  const owner = await ownerOfFile(step.source, files).catch(() => null);
  if (owner === null || !privateFile(info, await files.uid(), owner)) return false;
  const verdict = await qemuImgCompare({ path: step.source, format: step.sourceFormat }, { path: step.target, format: step.format }, false, { runner: files.runner }).catch(() => null);
  return verdict?.identical === true;
}

/**
 * Whether the file at the copy's place is the step's copy, once its temporary name is gone: a private regular
 * file of one name, of the engine or the store's owner, of the store's size. (Its bytes are not compared: a
 * clone that booted writes its own store.)
 */
export async function isNvramCopy(step: NvramStep, files: HostFiles): Promise<boolean> {
  const info = await lstatOrNull(files, step.copy).catch(() => null);
  const real = await canonicalOn(files, step.path);
  const store = real === null ? null : await lstatOrNull(files, real);
  if (store === null) return false;
  return privateFile(info, await files.uid(), { uid: store.uid, gid: store.gid }) && info?.size === store.size;
}
