/**
 * The graph model, as produced by a scan; its terms are defined in docs/model.md. Plain JSON data: it crosses IPC and
 * HTTP as is, and `virt-snaptree tree --json` prints it.
 */

/** Where a graph comes from: a libvirt connection, or a folder of images with no libvirt at all. */
export type Source = { kind: 'libvirt'; uri: string } | { kind: 'folder'; path: string };

export type ProblemCode =
  | 'missing-file'
  | 'missing-backing'
  | 'backing-no-format'
  | 'unreadable'
  | 'locked'
  | 'cycle'
  | 'not-managed'
  | 'domain-unreadable'
  | 'snapshot-unreadable'
  /**
   * libvirt's snapshot metadata names parents that loop (a snapshot its own parent, or a ring of them). The graph
   * breaks the loop at one snapshot, chosen the same way on every scan, and draws it as a root; `snapshot` names it.
   */
  | 'metadata-cycle'
  /**
   * A disk's `<backingStore>` in the domain XML (the user's, in the definition, or the live one of a running
   * domain) names a chain other than the one the image headers give. libvirt hands QEMU the stated chain, so the
   * graph shows it; qemu-img follows the headers, so it is an error and plans on the domain are refused. `target`
   * names the disk; `path` the image whose base differs.
   */
  | 'backing-mismatch'
  /**
   * One file named as its backing file by different referrers (overlay headers, domain XML) with different formats:
   * QEMU reads a different disk through each. An error; `path` is the file, shown as qcow2 when it is valid qcow2
   * and some referrer names it so.
   */
  | 'format-conflict'
  | 'internal-snapshot'
  | 'bad-metadata'
  /** A FIFO, socket, device or directory where an image was expected: never opened, never read. */
  | 'not-regular-file'
  /** An image of a folder source whose real path leaves the folder (a symlink, a backing link): shown, never touched. */
  | 'outside-folder'
  /** A trash folder that is a symlink, or not the engine's own private directory: nothing is moved into or out of it. */
  | 'unsafe-trash'
  /**
   * A qcow2 image that keeps its guest data in an external data file (the header's "DATA" extension): shown,
   * but never written, moved, deleted or opened with qemu-img, which would follow that name wherever it points.
   * `path` is the image.
   */
  | 'external-data-file'
  /**
   * The external data file of an image is missing (or its header names none): the guest data is not there and
   * QEMU cannot open the disk. `path` is the image.
   */
  | 'missing-data-file'
  /**
   * An image reached through two folders (a symlink) whose relative backing name names a different file from
   * each: QEMU's chain depends on the path it is opened by. `path` is the image.
   */
  | 'ambiguous-backing'
  /**
   * A directory holds a file whose name is not valid UTF-8: it cannot be named, so it cannot be read, and it may
   * be built on any layer there. `path` is the directory; the message names the files with escapes. The layers
   * of the folder source, or of each domain with a layer in that directory, are not written, moved or deleted.
   */
  | 'unreadable-name'
  /**
   * A file in an image folder or chain directory that may be an image but cannot be read (no permission, a qcow2
   * header QEMU's reader here does not take, a `.qcow2` without one). `path` is the file; it may be built on any
   * layer there, which freezes them as `unreadable-name` does.
   */
  | 'unreadable-file'
  /**
   * A running domain's disk has a block job that waits to be finished (`<mirror>` in the live definition: an
   * active commit or a copy, which libvirt pivots or aborts when told). An error: nothing is planned on the domain
   * until the job ends. `target` names the disk; `path` the file the job writes into.
   */
  | 'block-job'
  /**
   * An operation on the domain stopped part-way and must be finished or undone (`virt-snaptree recover`, or
   * "Finish or undo it" in the app) before anything else is planned on it.
   */
  | 'unfinished-operation'
  /**
   * An info: the domain has branches besides the one it runs on, and its libvirt (9.9 and later) deletes external
   * snapshots itself with `virsh snapshot-delete`, which knows only the chain the domain runs on: it can delete a
   * saved state another branch builds on, or commit into a file another branch reads. The app's delete keeps them.
   */
  | 'native-delete';

export interface Problem {
  code: ProblemCode;
  severity: 'error' | 'warning' | 'info';
  /** A sentence a user understands. */
  message: string;
  /** The image file concerned, canonical where it exists. */
  path?: string;
  domain?: string;
  snapshot?: string;
  /** The branch concerned: a recorded branch that lost a tip file. */
  branch?: string;
  target?: string;
}

/** Who owns an image file and who may read it, as the file system says. */
export interface FileOwner {
  uid: number;
  gid: number;
  /** Account names where the host knows them. */
  user: string | null;
  group: string | null;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** ISO 8601 time the file was last written. */
  modified: string;
}

/** The external data file of a qcow2 image, as its header names it. */
export interface LayerDataFile {
  /**
   * The name as the header records it. QEMU opens a relative name against the working directory of the process
   * that opens the image (not the image's folder), so for a relative name no one file can be named.
   */
  path: string;
  /** Whether it exists; null for a relative name, which names no file the app can know. */
  exists: boolean | null;
  /** Bytes allocated on the host; 0 when it is missing or its name is relative. */
  size: number;
}

/** One disk image file. Identity is its canonical real path. */
export interface Layer {
  path: string;
  /** Format as reported by qemu-img (`qcow2`, `raw`, ...). */
  format: string;
  virtualSize: number;
  /** Bytes allocated on the host file system. */
  actualSize: number;
  /** Canonical path of the backing layer, or null for a base. */
  backing: string | null;
  /** The backing name exactly as written in the image header (may be relative). */
  backingName: string | null;
  /** Format recorded for the backing link; null means it is missing (never probed). */
  backingFormat: string | null;
  /**
   * The external data file holding the guest data (qcow2 `data_file`), part of the layer; null or absent when the
   * image keeps its data itself.
   */
  dataFile?: LayerDataFile | null;
  /**
   * How the image encrypts guest data (qcow2 `crypt_method`: legacy `aes`, or `luks`); absent or null when it does
   * not. The app holds no secrets, so nothing that reads or writes guest data is done on such a layer's chain.
   */
  encrypted?: 'aes' | 'luks' | null;
  /** How many internal snapshots (qcow2 `nb_snapshots`) the image holds inside itself; absent means none. */
  internalSnapshots?: number;
  /** True when the layer could only be read with `-U` because a running VM holds it. */
  sharedRead?: boolean;
  /** Owner, permissions and last write of the file. */
  owner?: FileOwner;
}

export interface Disk {
  /** Guest device name: `vda`, `sdb`, ... */
  target: string;
  /** `disk`, `cdrom`, `floppy`, `lun`. */
  device: string;
  /** Canonical path of the active layer when the disk is a file; null otherwise. */
  file: string | null;
  format: string | null;
  /** Whether the app manages this disk (file-backed qcow2 or raw). */
  managed: boolean;
  /** Why the disk is not managed, in plain words. */
  reason?: string;
  /** The chain of canonical paths from the active layer down to its base. */
  chain: string[];
  /** The definition marks the disk `<readonly/>`; absent means writable. */
  readonly?: boolean;
  /** The definition marks the disk `<shareable/>`, for several VMs at once; absent means not. */
  shareable?: boolean;
}

export interface SnapshotDisk {
  target: string;
  /**
   * The snapshot mode: `external`, `internal`, `manual` or `no`, as libvirt records it, or by libvirt's defaults
   * where the XML leaves it out.
   */
  kind: string;
  /** libvirt's disk type of the snapshot's disk: `file`, `block`, `network`, ...; absent means `file`. */
  type?: string;
  /** Where the snapshot put the disk, verbatim: a file or device path, `protocol:name` for a network disk. */
  source?: string | null;
  /** False when the app does not manage this disk of the snapshot (not an external file); absent means managed. */
  managed?: boolean;
  /** Why this disk of the snapshot is not managed, in plain words. */
  reason?: string;
  /** The file that became the disk's active layer when the snapshot was taken: it holds later changes. */
  overlay: string | null;
  /** The file holding the snapshot's saved state of this disk: the backing file of the overlay. */
  stateLayer: string | null;
  /**
   * The saved state as the snapshot's saved definition names it, read when its overlay is gone (libvirt 9.9+ deletes
   * the overlay of the state it reverts away from); the state layer then.
   */
  savedState?: string;
}

export interface Snapshot {
  name: string;
  parent: string | null;
  description: string | null;
  /** ISO 8601 creation time. */
  created: string | null;
  /** `shutoff`, `running`, `disk-snapshot`, `paused`, ... */
  state: string;
  /** Whether this is libvirt's current snapshot. */
  current: boolean;
  /** Path of the saved memory state, when the snapshot has one. */
  memoryFile: string | null;
  disks: SnapshotDisk[];
  /** Files libvirt 9.9+ records in `<revertDisks>` to revert this snapshot onto; they depend on its state. */
  revertFiles: string[];
}

export interface BranchTip {
  target: string;
  file: string;
}

/** A named line of work: per disk a top layer not captured by any snapshot. */
export interface Branch {
  name: string;
  /** The domain's current disks ("You are here"). */
  current: boolean;
  /**
   * Where the branch was found: the domain definition, the app's metadata, a file nobody records (loose), or
   * the top of a chain in an image folder, where there are no records at all.
   */
  origin: 'domain' | 'metadata' | 'loose' | 'folder';
  /** The snapshot whose saved state the tips grow from; null when they grow from no snapshot. */
  base: string | null;
  tips: BranchTip[];
  /** The VM's memory saved when this branch was left running; switching to it resumes the VM from there. */
  memoryFile?: string;
  /** What the records say that file was when it was saved (see BranchRecord); the scan checks it. */
  memoryFingerprint?: string;
}

export interface Domain {
  name: string;
  /** `running`, `shut off`, `paused`, ... as virsh reports; `folder` for an image folder. */
  state: string;
  disks: Disk[];
  snapshots: Snapshot[];
  branches: Branch[];
  /** Every layer reachable from the domain, its snapshots and branches, keyed by canonical path. */
  layers: Record<string, Layer>;
  problems: Problem[];
  /** The RAM the domain is given (`<currentMemory>`, else `<memory>`), in bytes: what saving its memory can take. */
  memoryBytes?: number;
  /**
   * The QEMU guest agent, where the domain's definition gives it a channel: `connected` only while a running
   * guest's agent is there to answer (quiescing needs it). Absent when no channel is configured.
   */
  guestAgent?: 'connected' | 'disconnected';
  /**
   * Where the app's record in the domain's `<metadata>` says it was cloned from: the source domain, the snapshot
   * or branch, and the operation that made it. Absent for a domain the app did not clone.
   */
  cloneOf?: { domain: string; node: { kind: 'snapshot' | 'branch'; name: string }; operation: string };
  /** The domain's own UEFI variable store (`<os><nvram>`), when it has one. */
  nvram?: string;
}

export interface ScanResult {
  source: Source;
  /** ISO 8601 time the scan finished. */
  scannedAt: string;
  /** e.g. `libvirt 9.0.0, QEMU 7.2.22`, when known. */
  hypervisor: string | null;
  domains: Domain[];
  /** Problems that belong to no domain (connection-level). */
  problems: Problem[];
}
