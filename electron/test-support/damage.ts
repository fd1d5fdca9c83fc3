/** Damages qcow2 images on purpose, the way crashes and bugs do, so the health check has something to find. */
import { closeSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';

function header(path: string): { clusterSize: number; firstBlock: number } {
  const bytes = readFileSync(path);
  const clusterSize = 2 ** bytes.readUInt32BE(20);
  const table = Number(bytes.readBigUInt64BE(48));
  return { clusterSize, firstBlock: Number(bytes.readBigUInt64BE(table)) };
}

/** Zeroes the first refcount block: every cluster then looks unreferenced, which qemu-img check calls corruption. */
export function corruptRefcounts(path: string): void {
  const { firstBlock } = header(path);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(512), 0, 512, firstBlock);
  closeSync(fd);
}

/** Adds one cluster at the end of the file that is counted as used but referenced by nothing: a leak. */
export function leakCluster(path: string): void {
  const { clusterSize, firstBlock } = header(path);
  const index = Math.ceil(statSync(path).size / clusterSize);
  truncateSync(path, (index + 1) * clusterSize);
  const entry = Buffer.alloc(2);
  entry.writeUInt16BE(1);
  const fd = openSync(path, 'r+');
  writeSync(fd, entry, 0, 2, firstBlock + 2 * index);
  closeSync(fd);
}
