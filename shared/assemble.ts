/**
 * Pure assembly of the graph model from the facts a scan collected: which file is whose backing, which
 * snapshot holds which saved state, which tips are branches. No I/O: the scanner gathers, this decides.
 */
import type { Branch, BranchTip, Disk, Domain, Layer, Problem, Snapshot, SnapshotDisk } from './model';
import { loopCuts } from './parent-loops';
import { basename } from './paths';

/** Name given to the current branch when the domain's metadata records none. */
export const DEFAULT_BRANCH_NAME = 'main';

export interface SnapshotFacts extends Omit<Snapshot, 'disks'> {
  disks: Array<Omit<SnapshotDisk, 'stateLayer'>>;
}

export interface RecordedBranches {
  /** Name of the current branch, when the app recorded one. */
  current: string | null;
  branches: Array<{ name: string; tips: BranchTip[]; memory?: string; memoryFingerprint?: string }>;
}

export interface DomainFacts {
  name: string;
  state: string;
  guestAgent?: Domain['guestAgent'];
  memoryBytes?: number;
  /** The app's clone record in the definition's `<metadata>` (Domain.cloneOf). */
  cloneOf?: Domain['cloneOf'];
  /** The UEFI variable store (`<os><nvram>`), when the definition has one. */
  nvram?: string;
  disks: Array<Omit<Disk, 'chain'>>;
  snapshots: SnapshotFacts[];
  recorded: RecordedBranches;
  layers: Record<string, Layer>;
  /**
   * Layers of this domain that another domain holds too (a clone built on one, a domain on a shared file): never a
   * loose tip of this one, which would offer to write into another domain's backing file (docs/model.md, "Clones").
   */
  usedElsewhere?: string[];
  problems: Problem[];
}

/** Follows backing links from `path` down to the base; stops before a layer that was not read, or a cycle. */
export function walkChain(layers: Record<string, Layer>, path: string): string[] {
  const chain: string[] = [];
  const seen = new Set<string>();
  let layer: Layer | undefined = layers[path];
  while (layer !== undefined && !seen.has(layer.path)) {
    seen.add(layer.path);
    chain.push(layer.path);
    layer = layer.backing !== null ? layers[layer.backing] : undefined;
  }
  return chain;
}

/**
 * The first layer in the chain from `path` whose backing link qemu-img could not open as recorded: a backing
 * name without a format (QEMU would probe it), or a backing the scan did not read (missing, not a local file,
 * not a regular file, a loop). Null when every link of the chain is known, and only then may qemu-img open
 * `path`; `path` itself when it was not read.
 */
export function unknownLink(layers: Record<string, Layer>, path: string): string | null {
  const chain = walkChain(layers, path);
  if (chain.length === 0) return path;
  const inChain = new Set(chain);
  for (const at of chain) {
    const layer = layers[at] as Layer;
    if (layer.backingName === null) continue;
    if (layer.backingFormat === null || layer.backing === null || layers[layer.backing] === undefined) return at;
    if (inChain.has(layer.backing) && chain.indexOf(layer.backing) <= chain.indexOf(at)) return at;
  }
  return null;
}

/**
 * The first layer of the chain from `path` (`path` itself included, read or not) that is in `flagged`; null when
 * none is. With the layers the scan flagged for an external data file: whether qemu-img opening `path` would
 * open a data file the app cannot vouch for.
 */
export function flaggedInChain(layers: Record<string, Layer>, path: string, flagged: Set<string>): string | null {
  if (flagged.has(path)) return path;
  return walkChain(layers, path).find((at) => flagged.has(at)) ?? null;
}

/** The paths the problems flag with `code`. */
export function flaggedPaths(problems: Problem[], code: Problem['code']): Set<string> {
  return new Set(problems.filter((p) => p.code === code && p.path !== undefined).map((p) => p.path as string));
}

/** Maps each layer to the layers whose backing file it is. */
export function childrenOf(layers: Record<string, Layer>): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const layer of Object.values(layers)) {
    if (layer.backing === null) continue;
    const list = children.get(layer.backing) ?? [];
    list.push(layer.path);
    children.set(layer.backing, list);
  }
  return children;
}

/**
 * Finds the snapshot a tip grows from: the first layer below the tip that is some snapshot's saved state of
 * that disk. When two snapshots share a saved state (metadata copies), the newest wins.
 */
function findBase(
  layers: Record<string, Layer>,
  stateOwner: Map<string, string>,
  tip: BranchTip,
): string | null {
  const chain = walkChain(layers, tip.file);
  for (const path of chain.slice(1)) {
    const owner = stateOwner.get(`${tip.target}\0${path}`) ?? stateOwner.get(`*\0${path}`);
    if (owner !== undefined) return owner;
  }
  return null;
}

function baseOfTips(layers: Record<string, Layer>, stateOwner: Map<string, string>, tips: BranchTip[]): string | null {
  for (const tip of tips) {
    const base = findBase(layers, stateOwner, tip);
    if (base !== null) return base;
  }
  return null;
}

/**
 * Where the current branch hangs. The files say which external snapshot's saved state the current disks grow from
 * (`fromFiles`); an internal snapshot leaves no trace in the chain, so when libvirt's current snapshot keeps no disk
 * externally and descends from that snapshot (or there is none), the current state grows from it, as libvirt says.
 */
function currentBase(snapshots: Snapshot[], fromFiles: string | null): string | null {
  const current = snapshots.find((s) => s.current);
  if (current === undefined || current.disks.some((d) => d.kind === 'external')) return fromFiles;
  if (fromFiles === null) return current.name;
  const byName = new Map(snapshots.map((s) => [s.name, s]));
  const seen = new Set<string>();
  for (let at = current.parent; at !== null && !seen.has(at); at = byName.get(at)?.parent ?? null) {
    if (at === fromFiles) return current.name;
    seen.add(at);
  }
  return fromFiles;
}

/**
 * A loop of parents in libvirt's metadata is cut at one snapshot, which the graph draws as a root: every walk
 * over parents (here, the planners, the tree, the layout) then ends. Returns the cut snapshots and pushes onto
 * `problems` what libvirt records.
 */
function cutParentLoops(facts: DomainFacts, problems: Problem[]): Set<string> {
  const known = new Set(facts.snapshots.map((s) => s.name));
  const recordedParent = new Map(facts.snapshots.map((s) => [s.name, s.parent !== null && known.has(s.parent) ? s.parent : null]));
  const cuts = new Set(loopCuts(known, (name) => recordedParent.get(name) ?? null));
  for (const name of cuts) {
    const parent = recordedParent.get(name) ?? '';
    problems.push({
      code: 'metadata-cycle',
      severity: 'error',
      message:
        parent === name
          ? `libvirt records snapshot "${name}" as its own parent; it is drawn as a root.`
          : `libvirt records "${parent}" as the parent of snapshot "${name}", which closes a loop of parents; "${name}" is drawn as a root.`,
      domain: facts.name,
      snapshot: name,
    });
  }
  return cuts;
}

/** The snapshots with each disk's saved-state layer (the backing file of its overlay), cut snapshots made roots. */
function withStateLayers(facts: DomainFacts, cuts: Set<string>): Snapshot[] {
  const { layers } = facts;
  return facts.snapshots.map((snap) => ({
    ...snap,
    ...(cuts.has(snap.name) ? { parent: null } : {}),
    disks: snap.disks.map((disk) => {
      const overlayLayer = disk.overlay !== null ? layers[disk.overlay] : undefined;
      return { ...disk, stateLayer: overlayLayer?.backing ?? (overlayLayer === undefined ? (disk.savedState ?? null) : null) };
    }),
  }));
}

/** Which snapshot owns each saved state (keyed by disk target and layer), and the set of all saved-state layers. */
function indexStates(snapshots: Snapshot[]): { stateOwner: Map<string, string>; stateLayers: Set<string> } {
  // Oldest first, so a newer snapshot sharing a saved state overwrites the owner.
  const byAge = [...snapshots].sort((a, b) => (a.created ?? '').localeCompare(b.created ?? ''));
  const stateOwner = new Map<string, string>();
  const stateLayers = new Set<string>();
  for (const snap of byAge) {
    for (const disk of snap.disks) {
      if (disk.stateLayer === null) continue;
      stateOwner.set(`${disk.target}\0${disk.stateLayer}`, snap.name);
      stateLayers.add(disk.stateLayer);
    }
  }
  return { stateOwner, stateLayers };
}

/** The current branch (from the domain's disks) and the branches the app recorded; their tips go into `claimed`. */
function knownBranches(facts: DomainFacts, disks: Disk[], snapshots: Snapshot[], stateOwner: Map<string, string>, claimed: Set<string>): Branch[] {
  const { layers } = facts;
  const branches: Branch[] = [];
  const currentTips = disks.filter((d) => d.managed && d.file !== null).map((d) => ({ target: d.target, file: d.file as string }));
  if (currentTips.length > 0) {
    branches.push({
      name: facts.recorded.current ?? DEFAULT_BRANCH_NAME,
      current: true,
      origin: 'domain',
      base: currentBase(snapshots, baseOfTips(layers, stateOwner, currentTips)),
      tips: currentTips,
    });
    currentTips.forEach((t) => claimed.add(t.file));
  }
  for (const recorded of facts.recorded.branches) {
    branches.push({
      name: recorded.name,
      current: false,
      origin: 'metadata',
      base: baseOfTips(layers, stateOwner, recorded.tips),
      tips: recorded.tips,
      ...(recorded.memory !== undefined ? { memoryFile: recorded.memory } : {}),
      ...(recorded.memoryFingerprint !== undefined ? { memoryFingerprint: recorded.memoryFingerprint } : {}),
    });
    recorded.tips.forEach((t) => claimed.add(t.file));
  }
  return branches;
}

/** The disk target a loose layer belongs to: from the snapshot or disk chain that holds it, else the first managed disk. */
function targetOf(snapshots: Snapshot[], disks: Disk[], path: string): string {
  for (const snap of snapshots) {
    for (const disk of snap.disks) {
      if (disk.overlay === path || disk.stateLayer === path) return disk.target;
    }
  }
  for (const disk of disks) if (disk.chain.includes(path)) return disk.target;
  return disks.find((d) => d.managed)?.target ?? 'disk';
}

/**
 * A loose tip: a leaf layer nobody records (no branch tip, no saved state) and no other domain holds. It is shown,
 * never deleted silently.
 */
function looseBranches(
  layers: Record<string, Layer>,
  snapshots: Snapshot[],
  disks: Disk[],
  states: { stateOwner: Map<string, string>; stateLayers: Set<string> },
  claimed: Set<string>,
  usedElsewhere: ReadonlySet<string>,
): Branch[] {
  const children = childrenOf(layers);
  const leaves = Object.keys(layers)
    .filter((path) => !children.has(path) && !claimed.has(path) && !states.stateLayers.has(path) && !usedElsewhere.has(path))
    .sort();
  return leaves.map((leaf) => {
    const tip = { target: targetOf(snapshots, disks, leaf), file: leaf };
    return { name: basename(leaf), current: false, origin: 'loose', base: findBase(layers, states.stateOwner, tip), tips: [tip] };
  });
}

/** One problem per disk a snapshot keeps as an internal snapshot, which the app does not manage. */
function internalSnapshotProblems(domain: string, snapshots: Snapshot[]): Problem[] {
  const problems: Problem[] = [];
  for (const snap of snapshots) {
    for (const disk of snap.disks) {
      if (disk.kind === 'internal') {
        problems.push({
          code: 'internal-snapshot',
          severity: 'info',
          message: `Snapshot "${snap.name}" keeps disk ${disk.target} as an internal snapshot; only external snapshots are managed.`,
          domain,
          snapshot: snap.name,
          target: disk.target,
        });
      }
    }
  }
  return problems;
}

/** Builds a domain's model: saved-state layers per snapshot, disk chains, and its branches. */
export function assembleDomain(facts: DomainFacts): Domain {
  const { layers } = facts;
  const problems = [...facts.problems];
  const cuts = cutParentLoops(facts, problems);
  const snapshots = withStateLayers(facts, cuts);
  const states = indexStates(snapshots);
  const disks: Disk[] = facts.disks.map((disk) => ({
    ...disk,
    chain: disk.file !== null && disk.managed ? walkChain(layers, disk.file) : [],
  }));
  const claimed = new Set<string>();
  // The recorded branches first: they claim their tips, and a loose branch is a leaf none of them claimed.
  const recorded = knownBranches(facts, disks, snapshots, states.stateOwner, claimed);
  const branches = [...recorded, ...looseBranches(layers, snapshots, disks, states, claimed, new Set(facts.usedElsewhere ?? []))];
  return {
    name: facts.name,
    state: facts.state,
    disks,
    snapshots,
    branches,
    layers,
    problems: [...problems, ...internalSnapshotProblems(facts.name, snapshots)],
    ...(facts.guestAgent !== undefined ? { guestAgent: facts.guestAgent } : {}),
    ...(facts.memoryBytes !== undefined ? { memoryBytes: facts.memoryBytes } : {}),
    ...(facts.cloneOf !== undefined ? { cloneOf: facts.cloneOf } : {}),
    ...(facts.nvram !== undefined ? { nvram: facts.nvram } : {}),
  };
}

/**
 * Builds the graph of an image folder from backing links alone: every layer that something backs onto is a
 * saved state (frozen), every leaf is a tip. One tree per base image.
 */
export function assembleFolder(layers: Record<string, Layer>, problems: Problem[]): Domain[] {
  const children = childrenOf(layers);
  const rootOf = (path: string): string => {
    const chain = walkChain(layers, path);
    return chain[chain.length - 1] ?? path;
  };
  const trees = new Map<string, string[]>();
  for (const path of Object.keys(layers).sort()) {
    const root = rootOf(path);
    const members = trees.get(root) ?? [];
    members.push(path);
    trees.set(root, members);
  }

  const domains: Domain[] = [];
  for (const [root, members] of trees) {
    const treeLayers: Record<string, Layer> = {};
    for (const path of members) treeLayers[path] = layers[path] as Layer;
    const snapshots: Snapshot[] = [];
    const branches: Branch[] = [];
    for (const path of members) {
      const layer = layers[path] as Layer;
      const parent = layer.backing !== null && treeLayers[layer.backing] ? basename(layer.backing) : null;
      if (children.has(path)) {
        snapshots.push({
          name: basename(path),
          parent,
          description: null,
          created: null,
          state: 'image',
          current: false,
          memoryFile: null,
          revertFiles: [],
          disks: [{ target: 'disk', kind: 'external', overlay: null, stateLayer: path }],
        });
      } else {
        branches.push({ name: basename(path), current: false, origin: 'folder', base: parent, tips: [{ target: 'disk', file: path }] });
      }
    }
    const memberSet = new Set(members);
    domains.push({
      name: basename(root),
      state: 'folder',
      disks: [],
      snapshots,
      branches,
      layers: treeLayers,
      problems: problems.filter((p) => p.path !== undefined && memberSet.has(p.path)),
    });
  }
  return domains;
}
