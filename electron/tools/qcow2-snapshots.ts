/**
 * The internal snapshot table of a qcow2 image, checked as QEMU 7.2 reads it when it opens the image
 * (`qcow2_do_read_snapshots` in block/qcow2-snapshot.c): a table it cannot read makes it refuse the whole image,
 * `qemu-img info` included. Only images that hold internal snapshots pay for this read.
 */
import type { ReadAt } from './qcow2-header-checks';

/** Fixed part of an entry: L1 offset and size, id and name lengths, dates, VM state size, extra data size. */
const ENTRY_BYTES = 40;
const MAX_EXTRA_DATA = 1024;
/** QCOW_MAX_SNAPSHOTS_SIZE: 1 KiB per snapshot for the 65536 snapshots an image may have. */
const MAX_TABLE_BYTES = 1024 * 65536;
const INT_MAX = 2 ** 31 - 1;

/**
 * Walks `count` entries from `offset`, calling `refuse` (which throws) with QEMU's reason when QEMU would refuse
 * the table. Offsets past the end of the file read as zeros, as they do for QEMU.
 */
export function checkSnapshotTable(readAt: ReadAt, offset: number, count: number, refuse: (why: string) => never): void {
  let at = offset;
  let tableLength = 0;
  for (let i = 0; i < count; i++) {
    tableLength = Math.ceil(tableLength / 8) * 8;
    at = Math.ceil(at / 8) * 8;
    const entry = readAt(at, ENTRY_BYTES);
    const idSize = entry.readUInt16BE(12);
    const nameSize = entry.readUInt16BE(14);
    const extraSize = entry.readUInt32BE(36);
    if (extraSize > MAX_EXTRA_DATA) refuse(`Too much extra metadata in snapshot table entry ${i}`);
    at += ENTRY_BYTES + extraSize + idSize + nameSize;
    tableLength += ENTRY_BYTES + extraSize + idSize + nameSize;
    if (tableLength > MAX_TABLE_BYTES || at - offset > INT_MAX) refuse('Snapshot table is too big');
  }
}
