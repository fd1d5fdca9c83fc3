/**
 * Decodes a qcow2 header and checks it the way QEMU 7.2 opens an image (`qcow2_do_open`, `qcow2_read_extensions`
 * and `qcow2_do_read_snapshots` in block/qcow2*.c), so that an image QEMU refuses is never shown as a normal
 * image (docs/safety.md, rule 11). Everything here is arithmetic on bytes already read: the first cluster, plus the
 * LUKS header and the internal snapshot table when the image has them. Offsets are 64-bit on disk, so the checks use
 * BigInt and only numbers the checks have bounded are turned into JS numbers.
 */
import { checkSnapshotTable } from './qcow2-snapshots';

/** Reads `length` bytes at `offset`; bytes past the end of the file read as zeros, as QEMU's block layer gives them. */
export type ReadAt = (offset: number, length: number) => Buffer;

/** What the header says about an image, and whether QEMU would open it at all. */
export interface Qcow2Fields {
  version: number;
  /** The guest-visible size as QEMU reports it: the header's size rounded down to whole 512-byte sectors. */
  virtualSize: number;
  backingName: string | null;
  backingFormat: string | null;
  dataFile: string | null;
  /**
   * Names the header records whose bytes are not valid UTF-8 (QEMU opens a name by its bytes). The app passes
   * names on as text, which cannot spell these, so such a name is kept here as raw bytes and its text field
   * (`backingName`, `dataFile`) is null: decoding it would give U+FFFD, a name that opens nothing or another file.
   */
  invalidNames: { backingName: Buffer | null; dataFile: Buffer | null };
  /** The low 32 incompatible feature bits (v3); any bit QEMU does not know sets `refused` instead. */
  incompatibleFeatures: number;
  /** How guest data is encrypted: `aes` (legacy qcow AES-CBC) or `luks`; null when it is not. */
  encrypted: 'aes' | 'luks' | null;
  /** How many internal snapshots the image holds (the header's nb_snapshots). */
  internalSnapshots: number;
  /** Why QEMU refuses to open the image, in QEMU's own terms; null when it opens it. */
  refused: string | null;
}

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_TABLE = 0x6803f857;
const EXT_CRYPTO_HEADER = 0x0537be77;
const EXT_BITMAPS = 0x23852875;
const EXT_DATA_FILE = 0x44415441; // "DATA"

const INCOMPAT_DIRTY = 1n;
const INCOMPAT_CORRUPT = 2n;
const INCOMPAT_DATA_FILE = 4n;
const INCOMPAT_COMPRESSION = 8n;
const INCOMPAT_EXTL2 = 16n;
const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
const AUTOCLEAR_BITMAPS = 1n;
const AUTOCLEAR_DATA_FILE_RAW = 2n;

const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const MAX_REFTABLE_BYTES = 8n * 1024n * 1024n;
const MAX_L1_BYTES = 32n * 1024n * 1024n;
const SNAPSHOT_HEADER_BYTES = 40n;
const MAX_SNAPSHOTS = 65536n;
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MASK = (1n << 64n) - 1n;
const INT_MAX = 2n ** 31n - 1n;
/** bs->backing_format is 16 bytes, NUL included. */
const MAX_BACKING_FORMAT = 16;
/** The fixed part of a LUKS1 header; QEMU reads it through the crypto extension, which must hold it. */
const LUKS_HEADER_BYTES = 592;
const LUKS_MAGIC = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]);
const MAX_BITMAPS = 65535;
const MAX_BITMAP_DIRECTORY = 64 * 1024 * 1024;

class Refusal extends Error {}
const refuse = (why: string): never => {
  throw new Refusal(why);
};

/** The bytes of a C string as QEMU keeps it: up to the first NUL (pstrcpy, or a NUL-terminated copy). */
function cBytes(bytes: Buffer): Buffer {
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

/** A C string as QEMU keeps it, as text (bytes that are not UTF-8 become U+FFFD: only for names QEMU matches, not opens). */
export function cString(bytes: Buffer): string {
  return cBytes(bytes).toString('utf8');
}

/** A file name QEMU would open: its text when its bytes are valid UTF-8, else its raw bytes (see `invalidNames`). */
function fileName(bytes: Buffer): { text: string | null; invalid: Buffer | null } {
  const name = cBytes(bytes);
  const text = name.toString('utf8');
  return Buffer.from(text, 'utf8').equals(name) ? { text, invalid: null } : { text: null, invalid: Buffer.from(name) };
}

/** `qcow2_validate_table`: a table's entry count is bounded and its offset cluster-aligned and addressable. */
function checkTable(name: string, offset: bigint, entries: bigint, entryBytes: bigint, maxBytes: bigint, clusterSize: bigint): void {
  if (entries > maxBytes / entryBytes) refuse(`${name} too large`);
  if (INT64_MAX - entries * entryBytes < offset || offset % clusterSize !== 0n) refuse(`${name} offset invalid`);
}

interface Extensions {
  backingFormat: string | null;
  /** The DATA extension's name as raw bytes (see `fileName`). */
  dataFile: Buffer | null;
  crypto: { offset: bigint; length: bigint } | null;
}

/** `qcow2_read_extensions`: walks the header extensions between the header and `end`, refusing malformed ones. */
function readExtensions(readAt: ReadAt, start: number, end: number, clusterSize: number, cryptMethod: number, autoclear: bigint): Extensions {
  const found: Extensions = { backingFormat: null, dataFile: null, crypto: null };
  let at = start;
  while (at < end) {
    const head = readAt(at, 8);
    const type = head.readUInt32BE(0);
    const length = head.readUInt32BE(4);
    at += 8;
    // QEMU checks the length before it looks at the type, so even the end marker must fit.
    if (at > end || length > end - at) refuse('Header extension too large');
    if (type === EXT_END) return found;
    if (type === EXT_BACKING_FORMAT) {
      if (length >= MAX_BACKING_FORMAT) refuse(`backing format extension of ${length} bytes is too large`);
      found.backingFormat = cString(readAt(at, length));
    } else if (type === EXT_CRYPTO_HEADER) {
      if (cryptMethod !== 2) refuse('CRYPTO header extension only expected with LUKS encryption method');
      if (length !== 16) refuse(`CRYPTO header extension size ${length}, but expected size 16`);
      const body = readAt(at, 16);
      found.crypto = { offset: body.readBigUInt64BE(0), length: body.readBigUInt64BE(8) };
      if (found.crypto.offset % BigInt(clusterSize) !== 0n) refuse('Encryption header offset is not a multiple of the cluster size');
    } else if (type === EXT_BITMAPS) {
      if (length !== 24) refuse('bitmaps_ext: Invalid extension length');
      // Without the autoclear bit a program unaware of bitmaps changed the image: QEMU ignores them.
      if ((autoclear & AUTOCLEAR_BITMAPS) !== 0n) checkBitmapsExtension(readAt(at, 24), clusterSize);
    } else if (type === EXT_DATA_FILE) {
      found.dataFile = cBytes(readAt(at, length));
    } else if (type !== EXT_FEATURE_TABLE) {
      // Unknown extensions are kept by QEMU and skipped.
    }
    at += Math.ceil(length / 8) * 8;
  }
  return found;
}

function checkBitmapsExtension(body: Buffer, clusterSize: number): void {
  const count = body.readUInt32BE(0);
  if (body.readUInt32BE(4) !== 0) refuse('bitmaps_ext: Reserved field is not zero');
  if (count > MAX_BITMAPS) refuse(`bitmaps_ext: Image has ${count} bitmaps, exceeding the QEMU supported maximum of ${MAX_BITMAPS}`);
  if (count === 0) refuse('found bitmaps extension with zero bitmaps');
  if (body.readBigUInt64BE(16) % BigInt(clusterSize) !== 0n) refuse('bitmaps_ext: invalid bitmap directory offset');
  if (body.readBigUInt64BE(8) > BigInt(MAX_BITMAP_DIRECTORY)) refuse('bitmaps_ext: bitmap directory size exceeds the maximum supported size');
}

/** QEMU opens the LUKS header even when it reads no data (`qemu-img info`): it must be there, whole, and LUKS version 1. */
function checkLuksHeader(readAt: ReadAt, crypto: { offset: bigint; length: bigint }): void {
  if (crypto.length < BigInt(LUKS_HEADER_BYTES)) refuse('Request for data outside of extension header');
  if (crypto.offset > INT64_MAX - BigInt(LUKS_HEADER_BYTES) || crypto.offset > BigInt(Number.MAX_SAFE_INTEGER)) refuse('Could not read encryption header');
  const head = readAt(Number(crypto.offset), 8);
  if (!head.subarray(0, 6).equals(LUKS_MAGIC)) refuse('Volume is not in LUKS format');
  if (head.readUInt16BE(6) !== 1) refuse(`Unsupported LUKS version ${head.readUInt16BE(6)}`);
}

/**
 * Decodes a qcow2 image through `readAt`. Null when the bytes are not qcow2 (no magic, or a version other than
 * 2 and 3, which no current QEMU reads as qcow2); otherwise the fields, with `refused` naming the first check
 * QEMU would fail.
 */
export function decodeQcow2(readAt: ReadAt): Qcow2Fields | null {
  const head = readAt(0, 112);
  if (head.readUInt32BE(0) !== QCOW2_MAGIC) return null;
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) return null;
  const size = head.readBigUInt64BE(24);
  const v3 = version === 3;
  const incompatible = v3 ? head.readBigUInt64BE(72) : 0n;
  const cryptMethod = head.readUInt32BE(32);
  const fields: Qcow2Fields = {
    version,
    virtualSize: Number((size / 512n) * 512n),
    backingName: null,
    backingFormat: null,
    dataFile: null,
    invalidNames: { backingName: null, dataFile: null },
    incompatibleFeatures: Number(incompatible & 0xffffffffn),
    encrypted: cryptMethod === 1 ? 'aes' : cryptMethod === 2 ? 'luks' : null,
    internalSnapshots: head.readUInt32BE(60),
    refused: null,
  };
  try {
    checkAndRead(readAt, head, fields, incompatible);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    fields.refused = error.message;
  }
  return fields;
}

/**
 * Checks the header as `qcow2_do_open` does and reads its names into `fields`. Kept as one sequence on purpose:
 * the checks run in QEMU's order, which decides which refusal an image with several faults gets, and the
 * mutation tests hold that order against qemu-io.
 */
function checkAndRead(readAt: ReadAt, head: Buffer, fields: Qcow2Fields, incompatible: bigint): void {
  const v3 = fields.version === 3;
  const clusterBits = head.readUInt32BE(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) refuse(`Unsupported cluster size: 2^${clusterBits}`);
  const clusterSize = 2 ** clusterBits;
  const cluster = BigInt(clusterSize);
  const headerLength = v3 ? head.readUInt32BE(100) : 72;
  if (v3 && headerLength < 104) refuse('qcow2 header too short');
  if (headerLength > clusterSize) refuse('qcow2 header exceeds cluster size');
  const backingOffset = head.readBigUInt64BE(8);
  if (backingOffset > cluster) refuse('Invalid backing file offset');

  const compression = headerLength > 104 ? (head[104] as number) : 0;
  if (compression !== 0 && compression !== 1) refuse(`qcow2: unknown compression type: ${compression}`);
  if (compression === 0 && (incompatible & INCOMPAT_COMPRESSION) !== 0n) refuse('qcow2: Compression type incompatible feature bit must not be set');
  if (compression !== 0 && (incompatible & INCOMPAT_COMPRESSION) === 0n) refuse('qcow2: Compression type incompatible feature bit must be set');
  const unknown = incompatible & ~INCOMPAT_KNOWN & UINT64_MASK;
  if (unknown !== 0n) refuse(`Unsupported qcow2 feature(s): Unknown incompatible feature: ${unknown.toString(16)}`);
  const extendedL2 = (incompatible & INCOMPAT_EXTL2) !== 0n;
  if (extendedL2 && clusterSize / 32 < 512) refuse(`Unsupported subcluster size: ${clusterSize / 32}`);

  const refcountOrder = v3 ? head.readUInt32BE(96) : 4;
  if (refcountOrder > 6) refuse('Reference count entry width too large; may not exceed 64 bits');
  const cryptMethod = head.readUInt32BE(32);
  if (cryptMethod > 2) refuse(`Unsupported encryption method ${cryptMethod}`);

  const refcountClusters = BigInt(head.readUInt32BE(56));
  if (refcountClusters === 0n) refuse('Image does not contain a reference count table');
  checkTable('Reference count table', head.readBigUInt64BE(48), refcountClusters, cluster, MAX_REFTABLE_BYTES, cluster);
  const snapshotsOffset = head.readBigUInt64BE(64);
  checkTable('Snapshot table', snapshotsOffset, BigInt(fields.internalSnapshots), SNAPSHOT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES * MAX_SNAPSHOTS, cluster);
  const l1Size = BigInt(head.readUInt32BE(36));
  checkTable('Active L1 table', head.readBigUInt64BE(40), l1Size, 8n, MAX_L1_BYTES, cluster);
  // size_to_l1: the entries the L1 table needs to map the whole disk, computed in 64-bit unsigned like QEMU.
  const shift = BigInt(clusterBits + clusterBits - (extendedL2 ? 4 : 3));
  const needed = (((head.readBigUInt64BE(24) + (1n << shift) - 1n) & UINT64_MASK) >> shift);
  if (needed > INT_MAX) refuse('Image is too big');
  if (l1Size < needed) refuse('L1 table is too small');

  const autoclear = v3 ? head.readBigUInt64BE(88) : 0n;
  const extEnd = backingOffset !== 0n ? Number(backingOffset) : clusterSize;
  const ext = readExtensions(readAt, headerLength, extEnd, clusterSize, cryptMethod, autoclear);
  // The rule for what counts as opening: QEMU opening the image for use, as a VM, qemu-io or qemu-img check do.
  // qemu-img info opens it without I/O and skips the data file checks below (BDRV_O_NO_IO), so it lists images
  // that no VM can start; the reader refuses those too.
  const usesDataFile = (incompatible & INCOMPAT_DATA_FILE) !== 0n;
  if (usesDataFile && ext.dataFile === null) refuse("'data-file' is required for this image");
  // data-file-raw says the data file is a raw image of the disk: without the data-file bit there is none.
  if (!usesDataFile && (autoclear & AUTOCLEAR_DATA_FILE_RAW) !== 0n) refuse('data-file-raw requires a data file');
  // Without the data-file bit QEMU keeps guest data in the image and never opens a DATA extension's name
  // (qemu-img info still prints it as "data file"): the reader shows no data file, so nothing warns about one.
  if (usesDataFile && ext.dataFile !== null) {
    const name = fileName(ext.dataFile);
    fields.dataFile = name.text;
    fields.invalidNames.dataFile = name.invalid;
  }
  // A LUKS image without its crypto extension has no header to decrypt with (qemu-img info even crashes on it).
  if (cryptMethod === 2 && ext.crypto === null) refuse('Missing CRYPTO header for crypt method 2');
  if (ext.crypto !== null) checkLuksHeader(readAt, ext.crypto);

  if (backingOffset !== 0n) {
    const length = head.readUInt32BE(16);
    if (length > Math.min(1023, clusterSize - Number(backingOffset))) refuse('Backing file name too long');
    // QEMU copies the name as a C string: a NUL ends it, and an empty name is no backing file.
    const name = fileName(readAt(Number(backingOffset), length));
    fields.backingName = name.text || null;
    fields.invalidNames.backingName = name.invalid;
  }
  // A backing format means nothing without a backing name: QEMU neither uses nor shows it then.
  fields.backingFormat = fields.backingName !== null || fields.invalidNames.backingName !== null ? ext.backingFormat : null;
  checkSnapshotTable(readAt, Number(snapshotsOffset), fields.internalSnapshots, refuse);
}
