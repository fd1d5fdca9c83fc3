/** Damages qcow2 images on purpose, the way crashes and bugs do, so the health check has something to find. */
import { closeSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

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

/** Makes an image's backing link lose its format by renaming the header extension that records it. */
export async function stripBackingFormat(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const buf = Buffer.alloc(4096);
    await handle.read(buf, 0, 4096, 0);
    const at = buf.indexOf(Buffer.from([0xe2, 0x79, 0x2a, 0xca]));
    if (at <= 0) throw new Error(`${file} records no backing format to strip.`);
    await handle.write(Buffer.from([0x6e, 0x6f, 0x66, 0x6d]), 0, 4, at);
  } finally {
    await handle.close();
  }
}
