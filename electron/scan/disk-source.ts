/**
 * What a libvirt disk's `<source>` is, for domain disks and snapshot disks alike: the app manages file-backed
 * qcow2 and raw images only (docs/model.md, "Sources and managed disks"); every other kind of disk is listed with the
 * reason it is not managed. Both XML readers (xmldom for domains, htmlparser2 for snapshots) feed this through an
 * attribute getter.
 */

/** Reads one attribute of a disk's `<source>` element; null when absent (or when there is no `<source>`). */
export type SourceAttr = (name: string) => string | null;

/** libvirt's disk types that are not one image file, with why the app leaves them alone. */
const NOT_A_FILE: Record<string, string> = {
  network: 'Network disk: not a local file.',
  volume: 'Storage pool volume: managed by its pool, not by image files.',
  block: 'Block device (LVM or partition): not an image file.',
  dir: 'Directory-backed disk: not an image file.',
  nvme: 'NVMe namespace on the host: not an image file.',
  vhostuser: 'vhost-user disk: served by another process, not an image file.',
  vhostvdpa: 'vDPA device: not an image file.',
};

/**
 * Where a disk's source points, verbatim, in one line of text: the path of a file, device or folder, the
 * `pool/volume` of a pool volume, `protocol:name` of a network disk, or null when the XML names none.
 */
export function describeSource(type: string, attr: SourceAttr): string | null {
  switch (type) {
    case 'file':
      return attr('file');
    case 'block':
      return attr('dev');
    case 'dir':
      return attr('dir');
    case 'network': {
      const protocol = attr('protocol');
      const name = attr('name');
      return protocol === null && name === null ? null : `${protocol ?? '?'}:${name ?? ''}`;
    }
    case 'volume': {
      const pool = attr('pool');
      const volume = attr('volume');
      return pool === null && volume === null ? null : `${pool ?? '?'}/${volume ?? ''}`;
    }
    case 'nvme':
      return attr('namespace') === null ? null : `namespace ${attr('namespace') ?? ''}`;
    default:
      return attr('path') ?? attr('file') ?? attr('dev');
  }
}

export interface DiskShape {
  /** `disk`, `cdrom`, `floppy`, `lun`. */
  device: string;
  /** libvirt's disk type. */
  type: string;
  /** The image file, for a `file` disk that names one. */
  file: string | null;
  /** The image format as libvirt will open it. */
  format: string | null;
  /** The source carries `<slices>`: the guest sees a part of the file, not the file. */
  sliced: boolean;
}

/** Why a disk is not managed, or undefined when it is (a whole file-backed qcow2 or raw image). */
export function unmanagedReason(disk: DiskShape): string | undefined {
  if (disk.device === 'cdrom' || disk.device === 'floppy') return `${disk.device === 'cdrom' ? 'CD-ROM' : 'Floppy'} drive: media, not a managed disk.`;
  const notFile = NOT_A_FILE[disk.type];
  if (notFile !== undefined) return notFile;
  if (disk.type !== 'file') return `Disk type "${disk.type}" is not managed.`;
  if (disk.file === null) return 'No image attached.';
  // A slice is a window into a file: the guest's disk is not the file, so a new overlay on it would be wrong.
  if (disk.sliced) return 'A slice of a file: the disk is a part of its image, not a whole image.';
  if (disk.format !== null && disk.format !== 'qcow2' && disk.format !== 'raw') return `Format ${disk.format} is not managed (qcow2 and raw are).`;
  return undefined;
}

/** The snapshot modes libvirt records per disk. */
export type SnapshotMode = 'external' | 'internal' | 'manual' | 'no';

/** Why the app does not manage one disk of a snapshot, or undefined when it does (an external file overlay). */
export function snapshotDiskReason(mode: string, type: string, source: string | null, format: string | null): string | undefined {
  if (mode === 'no') return 'Not part of this snapshot.';
  if (mode === 'internal') return 'Internal snapshot inside the image: only external snapshots are managed.';
  if (mode === 'manual') return 'Manual snapshot: taken by the storage outside libvirt, not by image files.';
  if (mode !== 'external') return `Snapshot mode "${mode}" is not managed.`;
  const notFile = NOT_A_FILE[type];
  if (notFile !== undefined) return notFile;
  if (type !== 'file') return `Disk type "${type}" is not managed.`;
  if (source === null) return 'The snapshot records no file for this disk.';
  if (format !== null && format !== 'qcow2' && format !== 'raw') return `Format ${format} is not managed (qcow2 and raw are).`;
  return undefined;
}
