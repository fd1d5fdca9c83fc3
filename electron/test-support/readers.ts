/**
 * Scans in tests read a connection as the engine does (libvirt-reader.ts): through libvirt's library where it
 * opens the connection, else through virsh. `VIRT_SNAPTREE_READER=virsh` runs the same tests on virsh alone.
 */
import { LibvirtReaders, type LibvirtReader } from '../scan/libvirt-reader';
import type { Virsh } from '../tools/virsh';

const readers = new LibvirtReaders();

/** The reader the engine would scan `virsh`'s connection with. */
export function engineReader(virsh: Virsh): Promise<LibvirtReader> {
  return readers.reader(virsh.uri, virsh);
}
