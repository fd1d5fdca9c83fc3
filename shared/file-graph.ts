/**
 * The file view of a domain: one node per image file, edges from each file to the file it is built on (its
 * backing file), grouped per disk. Shared bases make this a DAG, not a tree. Each node says what the file is to
 * the user (a snapshot's saved state, a branch's tip, a loose file, something in the trash) and whether it is
 * frozen: other files or snapshots need its bytes unchanged.
 */
import type { Domain, Layer, LayerDataFile, ScanResult } from './model';
import { dependantsIndex, type Dependant } from './ops/dependants';
import type { TrashEntry } from './ops/results';

export type FileRole = 'tip' | 'loose' | 'state' | 'base' | 'layer' | 'trash';

export interface FileNode {
  /** The canonical path (the trashed path for a file in the trash). */
  id: string;
  path: string;
  /** The disk group it is drawn in. */
  group: string;
  /** What it is, for its colour and icon: the most telling of its roles. */
  role: FileRole;
  /** What it is in words, e.g. `saved state of snap1`, `tip of main (You are here)`. */
  labels: string[];
  current: boolean;
  layer: Layer | null;
  /**
   * The external data file holding this image's guest data, part of the file (its bytes are the disk's); null
   * when the image keeps its data itself.
   */
  dataFile: LayerDataFile | null;
  /** For a trashed file: where it was, and what it takes to restore it. */
  trash: TrashEntry | null;
  /** What needs this file unchanged: files built on it, snapshots whose state it holds. Empty when it is free. */
  frozenBy: Dependant[];
  /**
   * The cross-domain links: each file of another domain built directly on this one, with that domain, and
   * `clone` when the app cloned that domain (its record names a source, Domain.cloneOf). A linked clone's
   * overlays show here on the saved state (or the frozen tip) they build on; a domain on a shared base shows on
   * that base. Empty (fileGraph always sets it) when no other domain builds on the file.
   */
  otherDomains?: CrossDomainLink[];
}

/** A file of another domain built on a file of this one (FileNode.otherDomains). */
export interface CrossDomainLink {
  /** The other domain. */
  domain: string;
  /** Its file built on this one: the far end of the link. */
  file: string;
  /** The other domain is a clone the app made. */
  clone: boolean;
}

export interface FileEdge {
  id: string;
  /** The backing file. */
  source: string;
  /** The file built on it. */
  target: string;
  trash: boolean;
}

export interface FileGroup {
  id: string;
  label: string;
}

export interface FileGraph {
  groups: FileGroup[];
  nodes: FileNode[];
  edges: FileEdge[];
}

const OTHER = 'other files';
const TRASH = 'trash';
const ROLE_RANK: Record<FileRole, number> = { tip: 0, loose: 1, state: 2, base: 3, layer: 4, trash: 5 };

/** A dependant that keeps the file's bytes fixed: a file built on it (a clone's too), or a snapshot's saved state. */
const freezes = (d: Dependant): boolean => d.kind === 'layer' || d.kind === 'clone' || d.kind === 'snapshot';

/** The files of other domains built on `path` (FileNode.otherDomains). */
function crossLinks(domain: Domain, deps: readonly Dependant[]): CrossDomainLink[] {
  return deps
    .filter((d) => (d.kind === 'layer' || d.kind === 'clone') && domain.layers[d.name] === undefined)
    .map((d) => ({ domain: d.domain, file: d.name, clone: d.kind === 'clone' }));
}

interface Notes {
  groupOf: (path: string) => string;
  labels: Map<string, string[]>;
  roles: Map<string, FileRole>;
  current: Set<string>;
}

/** What each file of a domain is to the user, and the disk it belongs to. */
function noteFiles(domain: Domain): Notes {
  const groupOf = new Map<string, string>();
  const labels = new Map<string, string[]>();
  const roles = new Map<string, FileRole>();
  const current = new Set<string>();
  const note = (path: string | null, group: string, label: string, role: FileRole) => {
    if (path === null || domain.layers[path] === undefined) return;
    if (!groupOf.has(path)) groupOf.set(path, group);
    labels.set(path, [...(labels.get(path) ?? []), label]);
    const before = roles.get(path);
    if (before === undefined || ROLE_RANK[role] < ROLE_RANK[before]) roles.set(path, role);
  };

  for (const disk of domain.disks) {
    if (disk.file === null) continue;
    if (domain.state !== 'folder') {
      note(disk.file, disk.target, 'You are here: the VM writes to it', 'tip');
      current.add(disk.file);
    }
  }
  for (const branch of domain.branches) {
    for (const tip of branch.tips) {
      if (branch.origin === 'loose') note(tip.file, tip.target, 'loose file: no snapshot or branch record names it', 'loose');
      else note(tip.file, tip.target, `tip of branch ${branch.name}`, 'tip');
    }
  }
  for (const snap of domain.snapshots) {
    for (const disk of snap.disks) {
      note(disk.stateLayer, disk.target, `saved state of ${snap.name}`, 'state');
      note(disk.overlay, disk.target, `changes made after ${snap.name}`, 'layer');
    }
  }
  for (const disk of domain.disks) for (const path of disk.chain) note(path, disk.target, '', 'layer');

  // Every other file lands in the group of the first file it builds on that has one.
  const resolveGroup = (path: string, seen = new Set<string>()): string => {
    const known = groupOf.get(path);
    if (known !== undefined) return known;
    const backing = domain.layers[path]?.backing ?? null;
    if (backing === null || seen.has(path)) return OTHER;
    seen.add(path);
    return resolveGroup(backing, seen);
  };
  return { groupOf: resolveGroup, labels, roles, current };
}

/** A file's external data file in words; null when it has none. */
export function dataFileWords(data: LayerDataFile | null): string | null {
  if (data === null) return null;
  if (data.exists === null) return `guest data in the external file "${data.path}" (a relative name: QEMU opens it from the working directory of the process that opens the image)`;
  return data.exists ? `guest data in the external file ${data.path}` : `its external data file ${data.path} is missing`;
}

/** The disk (guest target) a file of the domain belongs to; null when it belongs to none. */
export function diskOfFile(domain: Domain, path: string): string | null {
  if (domain.layers[path] === undefined) return null;
  const group = noteFiles(domain).groupOf(path);
  return group === OTHER ? null : group;
}

export function fileGraph(scan: ScanResult, domain: Domain, trash: TrashEntry[] = []): FileGraph {
  const { groupOf: resolveGroup, labels, roles, current } = noteFiles(domain);
  const dependants = dependantsIndex(scan);
  const nodes: FileNode[] = [];
  const edges: FileEdge[] = [];
  for (const layer of Object.values(domain.layers)) {
    const role = roles.get(layer.path) ?? (layer.backing === null ? 'base' : 'layer');
    const words = (labels.get(layer.path) ?? []).filter((w) => w !== '');
    if (layer.backing === null) words.push('base image');
    const dataWords = dataFileWords(layer.dataFile ?? null);
    if (dataWords !== null) words.push(dataWords);
    nodes.push({
      id: layer.path,
      path: layer.path,
      group: resolveGroup(layer.path),
      role: role === 'layer' && layer.backing === null ? 'base' : role,
      labels: [...new Set(words)],
      current: current.has(layer.path),
      layer,
      dataFile: layer.dataFile ?? null,
      trash: null,
      frozenBy: (dependants.get(layer.path) ?? []).filter(freezes),
      otherDomains: crossLinks(domain, dependants.get(layer.path) ?? []),
    });
    if (layer.backing !== null && domain.layers[layer.backing] !== undefined) {
      edges.push({ id: `${layer.backing}->${layer.path}`, source: layer.backing, target: layer.path, trash: false });
    }
  }
  for (const entry of trash) {
    const backing = entry.backing !== null && domain.layers[entry.backing] !== undefined ? entry.backing : null;
    nodes.push({
      id: entry.trashed,
      path: entry.trashed,
      group: backing === null ? TRASH : resolveGroup(backing),
      role: 'trash',
      labels: [`in the trash; was ${entry.original}`],
      current: false,
      layer: null,
      dataFile: null,
      trash: entry,
      frozenBy: [],
      otherDomains: [],
    });
    if (backing !== null) edges.push({ id: `${backing}->${entry.trashed}`, source: backing, target: entry.trashed, trash: true });
  }

  const groupIds = [...new Set(nodes.map((n) => n.group))];
  const order = (id: string) => (id === TRASH ? 2 : id === OTHER ? 1 : 0);
  groupIds.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const groups = groupIds.map((id) => {
    const disk = domain.disks.find((d) => d.target === id);
    const label =
      id === TRASH ? 'Trash' : id === OTHER ? 'Other files' : domain.state === 'folder' ? 'Images' : `Disk ${id}${disk && disk.device !== 'disk' ? ` (${disk.device})` : ''}`;
    return { id, label };
  });
  return { groups, nodes, edges };
}
