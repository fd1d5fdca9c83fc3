/**
 * The files of the host an operation acts on: this computer's through Node's file system, or a remote
 * hypervisor's through small POSIX shell scripts run over its SSH connection (`remoteHostFiles`). The steps,
 * the trust checks, the trash and the lock ask only through this, so an operation on a remote connection never
 * reads, writes or moves a file of this computer that happens to have the same path.
 *
 * Both sides keep the same rules: nothing is followed through a link where the engine looks at an entry
 * (`lstat`, `readStart` with `noFollow`, `secure`, the own files of the trash), a new file is created only
 * where nothing stands, and errors carry the file system's errno `code` (ENOENT, EEXIST, ELOOP, ...) as Node's
 * do, so the checks above read the same on either host. On the remote side a check and the call after it are
 * two commands, not one descriptor: they stay one act only because the folder is trusted (no other user can
 * change its entries: `folder-trust.ts`), which every operation checks before its first step.
 */
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readlink, realpath, rename, rmdir, unlink, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { AppError } from '../../shared/errors';
import type { FileStat } from '../scan/file-view';
import { memoryFingerprintOf } from '../scan/file-view';
import { localRunner, type HostRunner } from '../tools/host-runner';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;

/** What the engine reads of an entry's stat: Node's Stats on this computer, the same fields from `stat` remotely. */
export interface FileInfo extends FileStat {
  nlink: number;
  dev: number;
  ino: number;
  atimeMs: number;
  ctimeMs: number;
}

/** The owner a file is given. */
export interface Owner {
  uid: number;
  gid: number;
}

export interface HostFiles {
  /** 'local' for this computer, else the SSH host. */
  readonly host: string;
  /** Where the host's tools (qemu-img, cp) run. */
  readonly runner: HostRunner;
  /** The engine's user there: this process's, or the SSH login's. */
  uid(): Promise<number>;
  /** Each rejects with the file system's error, its errno in `code`, as Node's functions do. */
  lstat(path: string): Promise<FileInfo>;
  readlink(path: string): Promise<string>;
  realpath(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  /** Renames an entry (a link moves as the link it is). */
  rename(from: string, to: string): Promise<void>;
  /** Gives the file at `from` (a link as the link it is) a second name `to`, where nothing may stand: EEXIST otherwise. */
  link(from: string, to: string): Promise<void>;
  /** Removes a name (a link, never its target). */
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** Makes one folder, mode 0700, never recursively: EEXIST for anything at the path, a link included. */
  mkdirPrivate(path: string): Promise<void>;
  /** Creates an empty file of the engine's user, mode 0600, where nothing stands: EEXIST or ELOOP otherwise. */
  createEmpty(path: string): Promise<void>;
  /**
   * Up to `length` bytes from the start of a regular file; a FIFO or device is refused unread (ENOTREG), and with
   * `noFollow` a link at the path fails with ELOOP. Also gives the stat of what was read.
   */
  readStart(path: string, length: number, noFollow: boolean): Promise<{ bytes: Buffer; info: FileInfo }>;
  /**
   * Mode 0600 and (unless null) `owner` for a file the engine or libvirt made: refused (E_CHANGED) for a link,
   * anything but a regular file, and a file with other names.
   */
  secure(path: string, owner: Owner | null): Promise<void>;
  /** The text of the engine's own regular file (its user's, not a link): the trash's manifests. */
  readOwnFile(path: string): Promise<string>;
  /** Writes (created 0600 if missing) the engine's own regular file, never through a link. */
  writeOwnFile(path: string, text: string): Promise<void>;
  /** Sets a file's access and modification times (milliseconds). */
  setTimes(path: string, atimeMs: number, mtimeMs: number): Promise<void>;
  /** Puts a file's data on disk. */
  datasync(path: string): Promise<void>;
  /** memoryFingerprintOf the regular file at `path` (not followed through a link), or null. */
  memoryFingerprint(path: string): Promise<string | null>;
}

/** An error as Node's file functions give them, with its errno code. */
export function errnoError(code: string, path: string, detail = ''): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${path}${detail === '' ? '' : ` (${detail})`}`), { code, path });
}

export const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

/** `lstat`, or null when nothing stands at the path. */
export async function lstatOrNull(files: HostFiles, path: string): Promise<FileInfo | null> {
  return files.lstat(path).catch((error: unknown) => (errnoOf(error) === 'ENOENT' ? null : Promise.reject(error)));
}

/** Whether anything stands at `path`, a dangling link included. */
export async function lexists(files: HostFiles, path: string): Promise<boolean> {
  return (await lstatOrNull(files, path).catch(() => null)) !== null;
}

/** The canonical path, or null when it does not resolve. */
export async function canonicalOn(files: HostFiles, path: string): Promise<string | null> {
  return files.realpath(path).catch(() => null);
}

function notRegular(path: string): AppError {
  return new AppError('E_CHANGED', `${path} is not a file of its own (a special file or a hard link); it is left as it is.`, { path });
}

/** Opens without following a link; ELOOP tells a link. */
async function openNoFollow(path: string, flags: number, mode?: number): Promise<FileHandle> {
  return open(path, flags | O_NOFOLLOW | O_NONBLOCK, mode);
}

/** This computer's files. */
export const localHostFiles: HostFiles = {
  host: 'local',
  runner: localRunner,
  uid: () => Promise.resolve(process.getuid?.() ?? 0),
  lstat: (path) => lstat(path),
  readlink: (path) => readlink(path),
  realpath: (path) => realpath(path),
  readdir: (path) => readdir(path),
  rename: (from, to) => rename(from, to),
  link: (from, to) => link(from, to),
  unlink: (path) => unlink(path),
  rmdir: (path) => rmdir(path),
  mkdirPrivate: async (path) => {
    await mkdir(path, { mode: 0o700 });
  },
  async createEmpty(path) {
    const handle = await openNoFollow(path, O_WRONLY | O_CREAT | O_EXCL, 0o600);
    try {
      // The umask may have taken bits off, never added them; set the mode exactly.
      await handle.chmod(0o600);
    } finally {
      await handle.close();
    }
  },
  async readStart(path, length, noFollow) {
    const handle = await open(path, O_RDONLY | O_NONBLOCK | (noFollow ? O_NOFOLLOW : 0));
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw errnoError('ENOTREG', path, 'not a regular file');
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, 0);
      return { bytes: buffer.subarray(0, bytesRead), info };
    } finally {
      await handle.close();
    }
  },
  async secure(path, owner) {
    let handle: FileHandle;
    try {
      handle = await openNoFollow(path, O_RDONLY);
    } catch (error) {
      if (errnoOf(error) === 'ELOOP') throw new AppError('E_CHANGED', `${path} is a symbolic link; the engine does not change files through links.`, { path });
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.nlink !== 1) throw notRegular(path);
      await handle.chmod(0o600);
      if (owner !== null) await handle.chown(owner.uid, owner.gid);
    } finally {
      await handle.close();
    }
  },
  async readOwnFile(path) {
    const handle = await openOwn(path, false);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  },
  async writeOwnFile(path, text) {
    const handle = await openOwn(path, true);
    try {
      await handle.truncate(0);
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
  },
  setTimes: (path, atimeMs, mtimeMs) => utimes(path, atimeMs / 1000, mtimeMs / 1000),
  async datasync(path) {
    const handle = await open(path, 'r');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  },
  async memoryFingerprint(path) {
    const info = await lstat(path, { bigint: true }).catch(() => null);
    return info?.isFile() === true ? memoryFingerprintOf(info) : null;
  },
};

/** Opens a file of the engine's own for reading or writing, never through a link: EOWNER for another user's, ENOTREG for a non-file. */
async function openOwn(path: string, write: boolean): Promise<FileHandle> {
  const handle = await openNoFollow(path, write ? O_WRONLY | O_CREAT : O_RDONLY, 0o600);
  const info: Stats = await handle.stat();
  const why = !info.isFile() ? 'ENOTREG' : info.uid !== (process.getuid?.() ?? 0) ? 'EOWNER' : null;
  if (why !== null) {
    await handle.close();
    throw errnoError(why, path, why === 'EOWNER' ? `belongs to uid ${info.uid}` : 'not a regular file');
  }
  return handle;
}

/** How long one small remote file command may take. */
const REMOTE_TIMEOUT_MS = 60_000;

/** The exit status of a remote script that failed on purpose, its errno on the last line of stderr after ERRNO_MARK. */
const FAILED = 3;
const ERRNO_MARK = '@virt-snaptree-errno@';
/** Printed after a script's whole answer: an answer without it was cut short (and its own trailing newlines are kept). */
const DONE = '/';

/**
 * Every remote script starts with these: `fail CODE [detail]` ends the script with status FAILED and the errno on
 * stderr (the caller turns it into an errno error); `gone P` fails with ENOENT when nothing stands at P (a dangling
 * link counts as something), ENOTDIR when its folder is no folder, EACCES when its folder cannot be entered.
 */
const PRELUDE = [
  `fail() { printf "\\n${ERRNO_MARK} %s %s\\n" "$1" "$2" >&2; exit ${FAILED}; }`,
  'gone() { [ -e "$1" ] || [ -L "$1" ] || { p=$(dirname -- "$1"); [ -d "$p" ] || fail ENOTDIR; [ -x "$p" ] || fail EACCES; fail ENOENT; }; }',
].join('\n');

/** The stat fields the scripts print: raw mode (hex), size, blocks, uid, gid, links, device, inode, times. */
const STAT_FORMAT = '%f/%s/%b/%u/%g/%h/%d/%i/%.9X/%.9Y/%.9Z';

/** strerror's words (C locale, as the tools run) and their errno, for what a remote tool said when it failed. */
const STRERRORS: ReadonlyArray<[string, string]> = [
  ['No such file or directory', 'ENOENT'],
  ['Operation not permitted', 'EPERM'],
  ['Permission denied', 'EACCES'],
  ['Directory not empty', 'ENOTEMPTY'],
  ['Not a directory', 'ENOTDIR'],
  ['Is a directory', 'EISDIR'],
  ['File exists', 'EEXIST'],
  ['No space left on device', 'ENOSPC'],
  ['Disk quota exceeded', 'EDQUOT'],
  ['Read-only file system', 'EROFS'],
  ['Too many levels of symbolic links', 'ELOOP'],
  ['Invalid cross-device link', 'EXDEV'],
  ['Input/output error', 'EIO'],
];

/** The errno a tool's message names (the last one it names), or null. */
export function errnoOfText(text: string): string | null {
  let found: { at: number; code: string } | null = null;
  for (const [words, code] of STRERRORS) {
    const at = text.lastIndexOf(words);
    if (at !== -1 && (found === null || at > found.at)) found = { at, code };
  }
  return found?.code ?? null;
}

/** One entry's stat line of STAT_FORMAT as a FileInfo. */
export function parseStatLine(line: string): FileInfo & { mtimeNs: bigint; inode: bigint } {
  const [mode, size, blocks, uid, gid, nlink, dev, ino, atime, mtime, ctime] = line.trim().split('/');
  const ns = (text = '0') => {
    const [seconds = '0', fraction = ''] = text.split('.');
    return BigInt(seconds) * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9));
  };
  const bits = Number.parseInt(mode ?? '0', 16);
  const type = bits & 0o170000;
  const mtimeNs = ns(mtime);
  return {
    isFile: () => type === 0o100000,
    isDirectory: () => type === 0o040000,
    isSymbolicLink: () => type === 0o120000,
    mode: bits,
    size: Number(size),
    blocks: Number(blocks),
    uid: Number(uid),
    gid: Number(gid),
    nlink: Number(nlink),
    dev: Number(dev),
    ino: Number(ino),
    inode: BigInt(ino ?? '0'),
    atimeMs: Number(ns(atime) / 1_000_000n),
    mtimeMs: Number(mtimeNs / 1_000_000n),
    ctimeMs: Number(ns(ctime) / 1_000_000n),
    mtimeNs,
  };
}

/**
 * A remote hypervisor's files, through `runner` (its SSH connection). Each call is one short shell script,
 * its paths passed as arguments (never pasted into the script).
 */
export function remoteHostFiles(runner: HostRunner): HostFiles {
  let uid: Promise<number> | null = null;
  /**
   * Runs `script` with `args`; its answer is what it printed. A `fail CODE` becomes an errno error on `args[0]`, any
   * other failure (a command that stopped the script, an answer cut short) EIO with what the host said.
   */
  const sh = async (script: string, args: readonly string[]): Promise<string> => {
    const { exitCode, stdout, stderr } = await runner.run('sh', ['-c', `${PRELUDE}\n${script}\nprintf ${DONE}`, 'sh', ...args], { timeoutMs: REMOTE_TIMEOUT_MS });
    const said = stderr.trim().split('\n');
    const last = said.at(-1) ?? '';
    if (exitCode === FAILED && last.startsWith(`${ERRNO_MARK} `)) {
      const [code = 'EIO', ...rest] = last.slice(ERRNO_MARK.length + 1).split(' ');
      const told = said.slice(0, -1).join(' ').trim();
      // A tool that failed says why in strerror's words: its errno, where the script could only say EIO.
      throw errnoError(code === 'EIO' ? (errnoOfText(told) ?? code) : code, args[0] ?? '', [told, rest.join(' ')].join(' ').trim());
    }
    if (exitCode !== 0 || !stdout.endsWith(DONE)) throw errnoError('EIO', args[0] ?? '', stderr.trim() || `exit ${String(exitCode)}`);
    return stdout.slice(0, -DONE.length);
  };
  const statOf = async (path: string) => parseStatLine(await sh(`gone "$1"; stat -c '${STAT_FORMAT}' -- "$1" || fail EIO`, [path]));
  const files: HostFiles = {
    host: runner.host,
    runner,
    uid() {
      uid ??= sh('id -u', []).then(Number);
      return uid;
    },
    lstat: statOf,
    readlink: (path) => sh('gone "$1"; [ -L "$1" ] || fail EINVAL; readlink -n -- "$1" || fail EIO', [path]),
    async realpath(path) {
      // A dangling link fails as ENOENT, as realpath(3) does; a loop, ELOOP.
      const out = await sh('gone "$1"; realpath -e -z -- "$1" 2>/dev/null || { readlink -f -- "$1" >/dev/null && fail ENOENT; fail ELOOP; }', [path]);
      return out.endsWith('\0') ? out.slice(0, -1) : out;
    },
    async readdir(path) {
      const out = await sh('gone "$1"; [ -d "$1" ] && [ ! -L "$1" ] || fail ENOTDIR; find "$1" -mindepth 1 -maxdepth 1 -printf "%f\\0" || fail EIO', [path]);
      return out.split('\0').filter((n) => n !== '');
    },
    rename: async (from, to) => {
      await sh('gone "$1"; mv -T -- "$1" "$2" || fail EIO', [from, to]);
    },
    link: async (from, to) => {
      // Without -f, ln never replaces what stands at `to` (EEXIST, from its message); -P links a link itself.
      await sh('gone "$1"; [ -e "$2" ] || [ -L "$2" ] && fail EEXIST; ln -P -T -- "$1" "$2" || fail EIO', [from, to]);
    },
    unlink: async (path) => {
      await sh('gone "$1"; [ -d "$1" ] && [ ! -L "$1" ] && fail EISDIR; rm -f -- "$1" || fail EIO; [ -e "$1" ] || [ -L "$1" ] && fail EIO', [path]);
    },
    rmdir: async (path) => {
      await sh('gone "$1"; rmdir -- "$1" || fail ENOTEMPTY', [path]);
    },
    mkdirPrivate: async (path) => {
      await sh('[ -e "$1" ] || [ -L "$1" ] && fail EEXIST; mkdir -m 0700 -- "$1" || fail EIO', [path]);
    },
    createEmpty: async (path) => {
      // noclobber opens with O_EXCL, which fails on anything at the path, a dangling link included.
      await sh('[ -e "$1" ] || [ -L "$1" ] && fail EEXIST; umask 077; set -C; { : > "$1"; } 2>/dev/null || fail EEXIST; chmod 0600 -- "$1" || fail EIO', [path]);
    },
    async readStart(path, length, noFollow) {
      const out = await sh(
        [
          'gone "$1"',
          '[ "$3" = 1 ] && [ -L "$1" ] && fail ELOOP',
          '[ -f "$1" ] || fail ENOTREG',
          '[ -r "$1" ] || fail EACCES',
          `stat -L -c '${STAT_FORMAT}' -- "$1" || fail EIO`,
          'head -c "$2" -- "$1" | base64 -w0',
        ].join('\n'),
        [path, String(length), noFollow ? '1' : '0'],
      );
      const newline = out.indexOf('\n');
      return { info: parseStatLine(out.slice(0, newline)), bytes: Buffer.from(out.slice(newline + 1), 'base64') };
    },
    async secure(path, owner) {
      try {
        await sh(
          [
            'gone "$1"',
            '[ -L "$1" ] && fail ELOOP',
            '[ -f "$1" ] && [ "$(stat -c %h -- "$1")" = 1 ] || fail ENOTREG',
            'chmod 0600 -- "$1" || fail EIO',
            '[ -z "$2" ] || chown -h -- "$2:$3" "$1" || fail EIO',
          ].join('\n'),
          [path, owner === null ? '' : String(owner.uid), owner === null ? '' : String(owner.gid)],
        );
      } catch (error) {
        if (errnoOf(error) === 'ELOOP') throw new AppError('E_CHANGED', `${path} is a symbolic link; the engine does not change files through links.`, { path });
        if (errnoOf(error) === 'ENOTREG') throw notRegular(path);
        throw error;
      }
    },
    readOwnFile: (path) => sh('gone "$1"; [ -L "$1" ] && fail ELOOP; [ -f "$1" ] || fail ENOTREG; [ "$(stat -c %u -- "$1")" = "$(id -u)" ] || fail EOWNER; cat -- "$1" || fail EIO', [path]),
    writeOwnFile: async (path, text) => {
      await sh(
        [
          'if [ -e "$1" ] || [ -L "$1" ]; then',
          '  [ -L "$1" ] && fail ELOOP; [ -f "$1" ] || fail ENOTREG; [ "$(stat -c %u -- "$1")" = "$(id -u)" ] || fail EOWNER',
          '  printf "%s" "$2" > "$1" || fail EIO',
          'else',
          '  umask 077; set -C; { printf "%s" "$2" > "$1"; } 2>/dev/null || fail EEXIST',
          'fi',
        ].join('\n'),
        [path, text],
      );
    },
    setTimes: async (path, atimeMs, mtimeMs) => {
      const at = (ms: number) => `@${(ms / 1000).toFixed(3)}`;
      await sh('gone "$1"; touch -c -a -d "$2" -- "$1" && touch -c -m -d "$3" -- "$1" || fail EIO', [path, at(atimeMs), at(mtimeMs)]);
    },
    datasync: async (path) => {
      await sh('gone "$1"; sync -d -- "$1" || fail EIO', [path]);
    },
    async memoryFingerprint(path) {
      const info = await statOf(path).catch(() => null);
      return info?.isFile() === true ? memoryFingerprintOf({ ino: info.inode, size: BigInt(info.size), mtimeNs: info.mtimeNs }) : null;
    },
  };
  return files;
}
