/**
 * Reads the backing link of a qcow2 image from its header, in process. The scanner uses it to learn a chain's
 * shape before asking qemu-img, so that a link without a recorded format is reported and never probed, and to
 * find loose tips among the files of a folder without a process per file.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_DATA_FILE = 0x44415441; // "DATA": the external data file's name
const EXT_END = 0;
/** Enough for the header, its extensions and the backing name of images qemu-img makes. */
const FIRST_READ = 4096;
/** A qcow2 backing name lives within the first cluster; clusters are at most 2 MiB. */
const MAX_READ = 2 * 1024 * 1024;

export interface Qcow2Header {
  version: number;
  virtualSize: number;
  /** The backing name as written (may be relative), or null. */
  backingName: string | null;
  /** The backing format from the header extension, or null when the image does not record one. */
  backingFormat: string | null;
  /**
   * The external data file's name as written (may be relative), from the "DATA" header extension; null when the
   * image records none. Only meaningful with the external-data-file incompatible bit (QCOW2_EXTERNAL_DATA).
   */
  dataFile: string | null;
  /** Incompatible feature bits (v3): 1 dirty, 2 corrupt, 4 external data file, 8 compression type, 16 extended L2. */
  incompatibleFeatures: number;
  /** Bytes the header needs to be read whole (backing name included); more than was given when truncated. */
  needs: number;
}

export const QCOW2_CORRUPT = 2;
export const QCOW2_EXTERNAL_DATA = 4;

/**
 * Parses a qcow2 header from the first bytes of a file; returns null when the bytes are not qcow2.
 * Layout per QEMU's docs/interop/qcow2.txt: big-endian fields, extensions after the header.
 */
export function parseQcow2Header(buf: Buffer): Qcow2Header | null {
  if (buf.length < 72 || buf.readUInt32BE(0) !== QCOW2_MAGIC) return null;
  const version = buf.readUInt32BE(4);
  if (version !== 2 && version !== 3) return null;
  const backingOffset = Number(buf.readBigUInt64BE(8));
  const backingSize = buf.readUInt32BE(16);
  const virtualSize = Number(buf.readBigUInt64BE(24));
  const headerLength = version === 3 && buf.length >= 104 ? buf.readUInt32BE(100) : 72;
  const incompatibleFeatures = version === 3 && buf.length >= 80 ? Number(buf.readBigUInt64BE(72) & 0xffffffffn) : 0;
  const needs = Math.max(headerLength, backingOffset !== 0 ? backingOffset + backingSize : 0);

  let backingName: string | null = null;
  if (backingOffset !== 0 && backingSize > 0 && backingOffset + backingSize <= buf.length) {
    backingName = buf.toString('utf8', backingOffset, backingOffset + backingSize);
  }

  let backingFormat: string | null = null;
  let dataFile: string | null = null;
  let at = headerLength;
  const limit = backingOffset !== 0 ? Math.min(backingOffset, buf.length) : buf.length;
  while (at + 8 <= limit) {
    const type = buf.readUInt32BE(at);
    const length = buf.readUInt32BE(at + 4);
    if (type === EXT_END) break;
    if (type === EXT_BACKING_FORMAT && at + 8 + length <= buf.length) {
      backingFormat = buf.toString('utf8', at + 8, at + 8 + length);
    }
    if (type === EXT_DATA_FILE && at + 8 + length <= buf.length) {
      dataFile = buf.toString('utf8', at + 8, at + 8 + length);
    }
    at += 8 + Math.ceil(length / 8) * 8;
  }
  return { version, virtualSize, backingName, backingFormat, dataFile, incompatibleFeatures, needs };
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
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new NotRegularFileError(path);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/**
 * Reads a file's qcow2 header; null when it is not qcow2. Throws the file system's error when unreadable, and
 * NotRegularFileError for anything but a regular file.
 * Synchronous on purpose: a few kilobytes from the page cache take microseconds, while the promise API costs
 * a thread-pool round trip per call, which dominated scans of thousands of layers. It cannot block: see
 * `openRegularFile`.
 */
export function readQcow2Header(path: string): Qcow2Header | null {
  const fd = openRegularFile(path);
  try {
    let size = FIRST_READ;
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const bytesRead = readSync(fd, buf, 0, size, 0);
      const header = parseQcow2Header(buf.subarray(0, bytesRead));
      if (header === null || header.needs <= bytesRead || bytesRead < size || size >= MAX_READ) return header;
      size = Math.min(MAX_READ, header.needs);
    }
  } finally {
    closeSync(fd);
  }
}
