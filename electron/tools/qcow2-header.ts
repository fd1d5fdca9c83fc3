/**
 * Reads a qcow2 image's header in process: its backing link, size, encryption and internal snapshots, and whether
 * QEMU would open it at all (`qcow2-header-checks.ts`). The scanner uses it to learn a chain's shape without a
 * qemu-img process per file, so that a link without a recorded format is reported and never probed, a header QEMU
 * refuses is shown as unreadable, and loose tips are found among the files of a folder.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { decodeQcow2, QCOW2_MAGIC, type Qcow2Fields, type ReadAt } from './qcow2-header-checks';

/** Enough for the header, its extensions and the backing name of images qemu-img makes: one read for most files. */
const FIRST_READ = 4096;
/** Later reads (a LUKS header, a snapshot table) fetch this much at once, so a table of small entries costs one read. */
const WINDOW = 64 * 1024;

/** A qcow2 header as the scanner uses it. */
export interface Qcow2Header extends Qcow2Fields {
  /** The backing name as QEMU reads it (up to the first NUL; may be relative), or null. */
  backingName: string | null;
  /** The backing format from the header extension, or null when the image does not record one. */
  backingFormat: string | null;
  /**
   * The external data file's name as written (may be relative), from the "DATA" header extension; null when the
   * image uses none: the external-data-file bit (QCOW2_EXTERNAL_DATA) is clear, so QEMU ignores any DATA
   * extension, or the name is not valid UTF-8 (`invalidNames`).
   */
  dataFile: string | null;
  /** Incompatible feature bits 0-31 (v3): 1 dirty, 2 corrupt, 4 external data file, 8 compression type, 16 extended L2. */
  incompatibleFeatures: number;
}

export const QCOW2_CORRUPT = 2;
export const QCOW2_EXTERNAL_DATA = 4;

/** A reader over bytes in memory: what lies past them reads as zeros, as a file's end does for QEMU. */
function bufferReader(buf: Buffer): ReadAt {
  return (offset, length) => {
    const out = Buffer.alloc(length);
    if (offset < buf.length) buf.copy(out, 0, offset, Math.min(buf.length, offset + length));
    return out;
  };
}

/**
 * Parses a qcow2 image from its first bytes (the whole file, or at least its first cluster and any table the
 * header points to; anything past `buf` reads as zeros). Returns null when the bytes are not qcow2; a header QEMU
 * would refuse comes back with `refused` set. Layout per QEMU's docs/interop/qcow2.txt.
 */
export function parseQcow2Header(buf: Buffer): Qcow2Header | null {
  if (buf.length < 8) return null;
  return decodeQcow2(bufferReader(buf));
}

/** Whether a file starts with the qcow2 magic (any version): a file QEMU may take for a qcow2 image. */
export function hasQcow2Magic(path: string): boolean {
  const fd = openRegularFile(path);
  try {
    const buf = Buffer.alloc(4);
    return readSync(fd, buf, 0, 4, 0) === 4 && buf.readUInt32BE(0) === QCOW2_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** Thrown for a path that is not a regular file (a FIFO, socket, device or directory): it is never read. */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  constructor(readonly path: string) {
    super(`${path} is not a regular file.`);
    this.name = 'NotRegularFileError';
  }
}

/**
 * Opens a file for reading without ever blocking: O_NONBLOCK makes opening a FIFO return at once instead of
 * waiting for a writer (which would stall the whole event loop), and the open file itself is checked to be a
 * regular file before a byte is read, so a path swapped after an earlier stat is caught too.
 */
export function openRegularFile(path: string): number {
  return openRegular(path).fd;
}

/**
 * `openRegularFile`, with the stat its check read: one fstat serves both. With `noFollow` a path whose last
 * component is a symbolic link fails (ELOOP) instead of opening what it points to.
 */
function openRegular(path: string, noFollow = false): { fd: number; stats: Stats } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0));
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotRegularFileError(path);
    return { fd, stats };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Reads a file's qcow2 header; null when it is not qcow2, and `refused` set when QEMU would not open it. Throws
 * the file system's error when unreadable, and NotRegularFileError for anything but a regular file.
 * Synchronous on purpose: a few kilobytes from the page cache take microseconds, while the promise API costs
 * a thread-pool round trip per call, which dominated scans of thousands of layers. It cannot block: see
 * `openRegularFile`.
 */
export function readQcow2Header(path: string): Qcow2Header | null {
  return readHeaderAndStat(path).header;
}

/**
 * `readQcow2Header`, with the stat of the file it read (the scanner takes sizes and owners from it). With
 * `noFollow`, a path that has become a symbolic link since the caller saw a regular file there fails with ELOOP.
 */
export function readHeaderAndStat(path: string, noFollow = false): { header: Qcow2Header | null; stats: Stats } {
  const { fd, stats } = openRegular(path, noFollow);
  const fileSize = stats.size;
  try {
    let windowAt = 0;
    let window = Buffer.alloc(0);
    const fill = (offset: number, length: number): void => {
      // Only the bytes read are kept (the subarray below), so the buffer need not be zeroed first.
      window = Buffer.allocUnsafe(Math.min(length, Math.max(0, fileSize - offset)));
      windowAt = offset;
      let done = 0;
      while (done < window.length) {
        const n = readSync(fd, window, done, window.length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      window = window.subarray(0, done);
    };
    const readAt: ReadAt = (offset, length) => {
      // Past the end of the file (or beyond any offset a JS number holds exactly) QEMU reads zeros.
      if (offset >= fileSize || !Number.isSafeInteger(offset)) return Buffer.alloc(length);
      const windowEnd = windowAt + window.length;
      if (offset < windowAt || (offset + length > windowEnd && windowEnd < fileSize)) fill(offset, Math.max(length, offset === 0 ? FIRST_READ : WINDOW));
      const from = offset - windowAt;
      // Bytes the window holds whole are handed out as a view of it: no copy for the many small reads of a header.
      if (from + length <= window.length) return window.subarray(from, from + length);
      const out = Buffer.alloc(length);
      window.copy(out, 0, from, Math.min(window.length, from + length));
      return out;
    };
    return { header: decodeQcow2(readAt), stats };
  } finally {
    closeSync(fd);
  }
}
