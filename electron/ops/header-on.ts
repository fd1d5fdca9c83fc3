/**
 * A qcow2 header read on the host an operation acts on: this computer's file through the scanner's reader, a
 * remote one from its first bytes fetched over SSH (qemu-img writes the header, its extensions and the backing
 * name in the first cluster).
 */
import { parseQcow2Header, readHeaderAndStat, type Qcow2Header } from '../tools/qcow2-header';
import type { HostFiles } from './host-files';

/** Enough for a qcow2 header with its extensions and backing name as qemu-img writes them. */
export const HEADER_BYTES = 64 * 1024;

/**
 * The qcow2 header of the regular file at `path`, or null when it is not qcow2; with `noFollow`, a link at the
 * path fails (ELOOP). Throws the file system's error as `readQcow2Header` does.
 */
export async function readHeaderOn(files: HostFiles, path: string, noFollow = false): Promise<Qcow2Header | null> {
  if (files.host === 'local') return readHeaderAndStat(path, noFollow).header;
  return parseQcow2Header((await files.readStart(path, HEADER_BYTES, noFollow)).bytes);
}
