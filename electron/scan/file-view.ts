/**
 * The files of the host a scan reads: this computer's through Node's file system, or a remote hypervisor's
 * (remote-files.ts). The scanner asks only through this, so a path a remote connection reports is never looked
 * up on this computer. Synchronous, as the scanner's header reads are (see tools/qcow2-header.ts): a remote view
 * answers from what it fetched, and says what it lacks (`RemoteFiles.missing`).
 */
import { closeSync, lstatSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { openRegularFile, readHeaderAndStat, type Qcow2Header } from '../tools/qcow2-header';

/** The code of the error a remote view gives for what it has not fetched yet (remote-files.ts): never cached as an answer. */
export const NOT_FETCHED = 'ENOTFETCHED';

/** What the scanner reads of a file's stat (a subset of Node's Stats). */
export interface FileStat {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  size: number;
  /** 512-byte blocks allocated. */
  blocks: number;
  uid: number;
  gid: number;
  /** Type and permission bits, as st_mode. */
  mode: number;
  mtimeMs: number;
}

/** One entry of a folder listing, its name as raw bytes (a name need not be valid UTF-8). */
export interface DirEntry {
  name: Buffer;
  type: 'file' | 'link' | 'dir' | 'other';
}

export interface FileView {
  /** 'local' for this computer, else the host's name. */
  readonly host: string;
  /** The engine's user there: this process's, or the one the SSH login gives. */
  readonly uid: number;
  /** Each throws the file system's error (with its errno `code`) as Node's functions do. */
  lstat(path: string): FileStat;
  stat(path: string): FileStat;
  realpath(path: string): string;
  list(dir: string): DirEntry[];
  /** A file's qcow2 header and the stat of what was opened (see readHeaderAndStat). */
  readHeader(path: string, noFollow: boolean): { header: Qcow2Header | null; stats: FileStat };
  /** A small text file, such as the account databases. */
  readText(path: string): string;
  /** Up to `length` bytes from the start of a regular file (never a FIFO or device: see openRegularFile). */
  readStart(path: string, length: number): Buffer;
  /** The fingerprint of a regular file not followed through a link (memoryFingerprintOf), or null. */
  memoryFingerprint(path: string): string | null;
  /**
   * Told of each path the scanner is about to resolve, before it asks about the folders above it one by one: a
   * remote view fetches that path's folder, and the folders above it, in the same batch.
   */
  expect?(path: string): void;
}

/**
 * What tells one saved memory file from another that took its name: its inode, size and modification time to the
 * nanosecond. A branch records it when its memory is saved (ops/new-files.ts), and a scan compares.
 */
export function memoryFingerprintOf(info: { ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `${info.ino}:${info.size}:${info.mtimeNs}`;
}

function typeOf(entry: { isFile(): boolean; isSymbolicLink(): boolean; isDirectory(): boolean }): DirEntry['type'] {
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'link';
  return entry.isDirectory() ? 'dir' : 'other';
}

/** This computer's files. */
export const localFiles: FileView = {
  host: 'local',
  get uid() {
    return process.getuid?.() ?? 0;
  },
  lstat: (path) => lstatSync(path),
  stat: (path) => statSync(path),
  realpath: (path) => realpathSync.native(path),
  list: (dir) => readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }).map((entry) => ({ name: entry.name, type: typeOf(entry) })),
  readHeader: (path, noFollow) => readHeaderAndStat(path, noFollow),
  readText: (path) => readFileSync(path, 'utf8'),
  readStart: (path, length) => {
    const fd = openRegularFile(path);
    try {
      const buf = Buffer.alloc(length);
      return buf.subarray(0, readSync(fd, buf, 0, length, 0));
    } finally {
      closeSync(fd);
    }
  },
  memoryFingerprint: (path) => {
    try {
      const info = lstatSync(path, { bigint: true });
      return info.isFile() ? memoryFingerprintOf(info) : null;
    } catch {
      return null;
    }
  },
};
