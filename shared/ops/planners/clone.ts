/**
 * Clone a domain from a snapshot or a branch (docs/model.md, "Clones"): a new domain whose managed disks are new
 * files, `linked` (an overlay on the node's saved state) or `full` (a standalone copy). A branch's tips are still
 * written by it, so a linked clone of a branch first freezes them the way a snapshot would: the branch goes on in
 * new files and the clone builds on the old ones. Nothing of the source is written; every step is undoable.
 */
import { walkChain } from '../../assemble';
import type { Branch, Domain, Layer, ScanResult } from '../../model';
import { basename, dirname } from '../../paths';
import { branchNodeId } from '../../snapshot-graph';
import type { BranchRecords, IntentOf, NodeRef, Refusal, Step } from '../plan';
import { finishPlan } from './checks';
import { isFailure, refuse, type Planner } from './context';
import { findBranch, findSnapshot } from './guard';
import { impact, OVERLAY_BYTES } from './impact';
import { disksOf, layerFormat, recordsOf } from './records';
import { defineStep, isLive, revertsExternal, setCurrentStep } from './steps';

/** A name as part of a file name: a comma never goes in (libvirt doubles it in a diskspec; create-snapshot.ts). */
const fileNamePart = (name: string): string => name.replaceAll(',', '_');

/** One managed disk of a node: the file holding the node's content of that disk. */
export interface NodeDisk {
  target: string;
  layer: string;
}

/** What a clone or an export starts from: the node's disks, and the branch when the node is one. */
export interface NodeSource {
  disks: NodeDisk[];
  branch: Branch | null;
  /** How a sentence names the node: "the saved state of snapshot snap1", "branch main as it is now". */
  words: string;
}

/**
 * The managed disks of `node`, each with the file holding its content: a snapshot's saved state, or a branch's
 * tip. Refused for a node that is not there, a domain with no managed disk, a snapshot that holds no external
 * saved state of one of them, and the current branch of a running or paused domain (its tips change as it runs).
 */
export function nodeSource(domain: Domain, node: NodeRef): NodeSource | Refusal {
  // An image folder has no disks: each image is one disk, read as its node says.
  const folder = domain.state === 'folder';
  const managed = domain.disks.filter((d) => d.managed && d.file !== null);
  if (managed.length === 0 && !folder) return { code: 'E_NOT_SUPPORTED', message: `Domain "${domain.name}" has no managed disk to copy.` };
  if (node.kind === 'snapshot') {
    const snapshot = findSnapshot(domain, node.name);
    if (isFailure(snapshot)) return snapshot;
    const disks: NodeDisk[] = [];
    const targets = folder ? snapshot.disks.map((d) => ({ target: d.target })) : managed;
    for (const disk of targets) {
      const saved = snapshot.disks.find((d) => d.target === disk.target && d.kind === 'external' && d.managed !== false && d.stateLayer !== null);
      if (saved?.stateLayer == null) {
        return {
          code: 'E_NOT_SUPPORTED',
          message: `Snapshot "${snapshot.name}" holds no external saved state of disk ${disk.target}, so the domain cannot be copied as it was then.`,
          details: { target: disk.target },
        };
      }
      disks.push({ target: disk.target, layer: saved.stateLayer });
    }
    return { disks, branch: null, words: folder ? snapshot.name : `the saved state of snapshot ${snapshot.name}` };
  }
  const branch = findBranch(domain, node.name);
  if (isFailure(branch)) return branch;
  if (branch.current && isLive(domain)) {
    return {
      code: 'E_DOMAIN_RUNNING',
      message: `Branch "${branch.name}" is where ${domain.name} writes while it is ${domain.state}: its files change as it runs. Shut the VM off, or take a snapshot and clone from it.`,
      details: { state: domain.state },
    };
  }
  if (branch.tips.length === 0) return { code: 'E_NOT_SUPPORTED', message: `Branch "${branch.name}" has no managed disk to copy.` };
  return { disks: branch.tips.map((t) => ({ target: t.target, layer: t.file })), branch, words: folder ? branch.name : `branch ${branch.name} as it is now` };
}

/** The most bytes one file name may have on the file systems images live on (NAME_MAX). */
const NAME_MAX = 255;

/** The length of `text` in UTF-8, as a file system counts a name. */
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** A refusal naming the first of `paths` whose file name is longer than a file system holds; null when none is. */
export function nameTooLong(paths: string[]): Refusal | null {
  for (const path of paths) {
    const bytes = utf8Bytes(basename(path));
    if (bytes > NAME_MAX) {
      return {
        code: 'E_BAD_INPUT',
        message: `The new file ${basename(path)} would have a name of ${bytes} bytes, and a file system holds at most ${NAME_MAX} bytes in one name; choose a shorter name.`,
        details: { path, bytes },
      };
    }
  }
  return null;
}

/**
 * Whether virsh would take `name` for a domain's id (a number) or UUID (32 hex digits, dashes and spaces anywhere)
 * before it tries it as a name: a clone so named could not be told from another domain, whose id or UUID it is.
 */
function readAsIdOrUuid(name: string): boolean {
  return /^\+?[0-9]+$/.test(name) || /^[0-9a-f]{32}$/i.test(name.replace(/[- ]/g, ''));
}

/**
 * A refusal when the domain has a managed disk the node holds no file of (a disk added after a branch was left):
 * the clone would keep the source's own disk, and both VMs would write it; or when the node holds a file of a
 * disk the domain no longer has, which the clone's definition (the source's) has no place for.
 */
function missingDisks(domain: Domain, node: NodeRef, source: NodeSource): Refusal | null {
  if (domain.state === 'folder') return null;
  const what = `${node.kind === 'branch' ? 'Branch' : 'Snapshot'} "${node.name}"`;
  const managed = domain.disks.filter((d) => d.managed && d.file !== null);
  const missing = managed.filter((d) => !source.disks.some((s) => s.target === d.target)).map((d) => d.target);
  if (missing.length > 0) {
    return {
      code: 'E_NOT_SUPPORTED',
      message: `${what} has no file of disk ${missing.join(', ')}, which ${domain.name} has now: the clone would share ${domain.name}'s own disk and both VMs would write it. Clone from a snapshot or branch that has every disk.`,
      details: { targets: missing },
    };
  }
  const gone = source.disks.filter((s) => !managed.some((d) => d.target === s.target)).map((s) => s.target);
  if (gone.length === 0) return null;
  return {
    code: 'E_NOT_SUPPORTED',
    message: `${what} has a file of disk ${gone.join(', ')}, which ${domain.name} no longer has, so the clone cannot be defined with it. Export the node's disks instead, or clone from a snapshot or branch of the disks ${domain.name} has now.`,
    details: { targets: gone },
  };
}

/** Every layer the scan knows, in every domain: a new file may be none of them. */
export function knownLayers(scan: ScanResult): Set<string> {
  return new Set(scan.domains.flatMap((d) => Object.keys(d.layers)));
}

/** How a sentence names the file a copy reads from: "alpha.snap2 and the files under it", or its name alone when it has no backing file. */
export function layerWords(domain: Domain, layer: string): string {
  const backing = domain.layers[layer]?.backing ?? null;
  return backing !== null ? `${basename(layer)} and the files under it` : basename(layer);
}

/** Bytes allocated by `path` and every layer under it: what a standalone copy may take, at most. */
export function chainBytes(domain: Domain, path: string): number {
  return walkChain(domain.layers, path).reduce((sum, at) => sum + ((domain.layers[at] as Layer | undefined)?.actualSize ?? 0), 0);
}

/** The clone's file per disk, `${dir}/${name}.${target}.qcow2`; refused where two collide or one is a known layer. */
function clonePaths(scan: ScanResult, source: NodeSource, intent: IntentOf<'clone'>): Record<string, string> | Refusal {
  const known = knownLayers(scan);
  const paths: Record<string, string> = {};
  const used = new Set<string>();
  for (const disk of source.disks) {
    const path = `${intent.dir ?? dirname(disk.layer)}/${fileNamePart(intent.name)}.${fileNamePart(disk.target)}.qcow2`;
    if (known.has(path)) return { code: 'E_NAME_TAKEN', message: `The file ${path} already exists.`, details: { path } };
    if (used.has(path)) return { code: 'E_NAME_TAKEN', message: `Two disks of the clone would both be ${path}; choose another folder.`, details: { path } };
    used.add(path);
    paths[disk.target] = path;
  }
  return paths;
}

/** A free name for branch `branch`'s new tip of `target` beside `tip`, named as a revert names a branch's files (steps.ts). */
function newTipPath(domain: Domain, branch: string, target: string, tip: string, taken: Set<string>): string {
  const stem = `${dirname(tip)}/${fileNamePart(domain.name)}.${fileNamePart(branch)}`;
  let path = `${stem}.${fileNamePart(target)}.qcow2`;
  for (let n = 2; taken.has(path); n++) path = `${stem}.${n}.${fileNamePart(target)}.qcow2`;
  taken.add(path);
  return path;
}

/**
 * Freezing a branch: its new tips, each an overlay on the tip it had, and the source defined on them (records, or
 * disks too). Where libvirt reverts external snapshots itself (`revertAware`), the current snapshot records the
 * current branch's new tips as its revert disks (steps.ts, setCurrentStep): libvirt's own revert then deletes those,
 * the state it leaves, never the frozen files the clone reads.
 */
function freezeBranch(domain: Domain, branch: Branch, taken: Set<string>, revertAware: boolean): { steps: Step[]; created: string[] } {
  const retarget: Record<string, string> = {};
  const steps: Step[] = [];
  for (const tip of branch.tips) {
    const path = newTipPath(domain, branch.name, tip.target, tip.file, taken);
    retarget[tip.file] = path;
    steps.push({
      kind: 'create-overlay',
      path,
      backing: tip.file,
      backingFormat: layerFormat(domain, tip.file),
      sentence: `Create ${basename(path)} for ${tip.target}: branch ${branch.name} goes on in this new, empty file; ${basename(tip.file)} is frozen as it is now, for the clone to build on.`,
    });
  }
  const records = recordsOf(domain);
  const moved = (tips: Array<{ target: string; file: string }>) => tips.map((t) => ({ ...t, file: retarget[t.file] ?? t.file }));
  const recorded = records.branches.some((b) => b.name === branch.name);
  const next: BranchRecords = {
    ...records,
    branches: [...records.branches.map((b) => (b.name === branch.name ? { ...b, tips: moved(b.tips) } : b)), ...(recorded || branch.current ? [] : [{ name: branch.name, tips: moved(branch.tips) }])],
  };
  const disks = branch.current ? disksOf(domain, retarget) : disksOf(domain);
  const what = branch.current ? `${domain.name}'s disks and the record of branch ${branch.name}` : `the record of branch ${branch.name}`;
  steps.push(defineStep(domain, disks, next, `Point ${what} at the new files.`));
  const current = domain.snapshots.find((s) => s.current);
  if (branch.current && revertAware && current !== undefined) steps.push(setCurrentStep(domain, current.name, disks, true));
  return { steps, created: Object.values(retarget) };
}

/** Per disk, the clone's new file: an overlay on the node's layer (linked), or a standalone copy of it (full). */
function diskSteps(domain: Domain, source: NodeSource, paths: Record<string, string>, intent: IntentOf<'clone'>): Step[] {
  return source.disks.map((disk): Step => {
    const path = paths[disk.target] as string;
    const format = layerFormat(domain, disk.layer);
    if (intent.mode === 'full') {
      return {
        kind: 'convert',
        source: disk.layer,
        sourceFormat: format,
        target: path,
        format: 'qcow2',
        compress: false,
        sentence: `Copy ${disk.target} as ${source.words} (${layerWords(domain, disk.layer)}) into ${basename(path)}, a standalone image for ${intent.name}.`,
      };
    }
    return {
      kind: 'create-overlay',
      path,
      backing: disk.layer,
      backingFormat: format,
      sentence: `Create ${basename(path)} for ${intent.name}'s ${disk.target}: a new, empty layer on ${source.words} (${basename(disk.layer)}).`,
    };
  });
}

/** The clone's own UEFI variable store beside the source's, when the source has one. */
function nvramStep(domain: Domain, name: string, known: Set<string>): Step | Refusal | null {
  if (domain.nvram === undefined) return null;
  const copy = `${dirname(domain.nvram)}/${fileNamePart(name)}_VARS.fd`;
  if (copy === domain.nvram || known.has(copy)) return { code: 'E_NAME_TAKEN', message: `The file ${copy} already exists.`, details: { path: copy } };
  return { kind: 'copy-nvram', path: domain.nvram, copy, sentence: `Copy ${domain.name}'s UEFI variable store to ${basename(copy)}, ${name}'s own.` };
}

/** Disks the clone shares as they are that both VMs would write: unmanaged, neither read-only nor shareable, no CD-ROM. */
function sharedWritableWarnings(domain: Domain, name: string): string[] {
  return domain.disks
    .filter((d) => !d.managed && d.device !== 'cdrom' && d.device !== 'floppy' && d.readonly !== true && d.shareable !== true)
    .map(
      (d) =>
        `Disk ${d.target} is not managed (${d.reason ?? 'not an image file'}) and is carried as it is${d.file !== null ? ` (${d.file})` : ''}: ${domain.name} and ${name} would both write to it. Run only one of them at a time, or give ${name} a disk of its own.`,
    );
}

/** The CD-ROMs the clone carries as they are: the same ISO, which it reads only. */
function cdromNotes(domain: Domain, name: string): string[] {
  return domain.disks
    .filter((d) => d.device === 'cdrom')
    .map((d) => (d.file !== null ? `CD-ROM ${d.target} stays as it is: ${name} uses the same ISO (${basename(d.file)}), read-only.` : `CD-ROM ${d.target} stays as it is: empty.`));
}

/**
 * A linked clone pins what it builds on (docs/model.md, "Clones"): while it exists, the source's operations plan
 * around the files under its overlays or refuse naming it; they may merge the files below, keeping what it reads.
 */
function pinnedNote(domain: Domain, source: NodeSource, intent: IntentOf<'clone'>): string[] {
  if (intent.mode !== 'linked') return [];
  const files = [...new Set(source.disks.map((d) => basename(d.layer)))];
  const them = files.length > 1 ? 'them' : 'it';
  return [
    `While ${intent.name} exists, ${files.join(', ')} ${files.length > 1 ? 'stay' : 'stays'} pinned: no commit, fold or delete on ${domain.name} removes ${them} or changes what ${intent.name} reads through ${them}.`,
  ];
}

/** A snapshot's saved memory is not the clone's: it boots from the disks. */
function memoryNote(domain: Domain, intent: IntentOf<'clone'>): string[] {
  if (intent.node.kind !== 'snapshot') return [];
  const snapshot = domain.snapshots.find((s) => s.name === intent.node.name);
  if (snapshot?.memoryFile == null) return [];
  return [`Snapshot ${snapshot.name} saved ${domain.name}'s memory too; ${intent.name} does not resume from it, it boots from the disks as they were saved.`];
}

export const clone: Planner<'clone'> = {
  guard: { needsShutOff: false, needsLibvirt: true, allowProblems: false },
  plan(ctx, intent, domain) {
    if (ctx.scan.domains.some((d) => d.name === intent.name)) return refuse('E_NAME_TAKEN', `There is already a domain named "${intent.name}".`, { name: intent.name });
    if (readAsIdOrUuid(intent.name)) {
      return refuse(
        'E_BAD_INPUT',
        `virsh would read "${intent.name}" as a domain's id or UUID, not as a name, and start or stop another domain in the clone's place; choose a name that is neither a number nor a UUID.`,
        { name: intent.name },
      );
    }
    const source = nodeSource(domain, intent.node);
    if (isFailure(source)) return { ok: false, refusal: source };
    const missing = missingDisks(domain, intent.node, source);
    if (missing !== null) return { ok: false, refusal: missing };
    const paths = clonePaths(ctx.scan, source, intent);
    if (isFailure(paths)) return { ok: false, refusal: paths };
    const known = knownLayers(ctx.scan);
    const nvram = nvramStep(domain, intent.name, known);
    if (nvram !== null && isFailure(nvram)) return { ok: false, refusal: nvram };
    const taken = new Set([...known, ...Object.values(paths)]);
    const frozen = intent.mode === 'linked' && source.branch !== null ? freezeBranch(domain, source.branch, taken, revertsExternal(ctx.scan)) : null;
    const nvramCopy = nvram !== null && nvram.kind === 'copy-nvram' ? nvram.copy : null;
    const define: Step = {
      kind: 'define-clone',
      source: domain.name,
      name: intent.name,
      node: intent.node,
      disks: paths,
      formats: Object.fromEntries(Object.keys(paths).map((t) => [t, 'qcow2'])),
      nvram: nvramCopy,
      sentence: `Define ${intent.name} from ${domain.name}'s definition: a new UUID and new MAC addresses, its disks on the new files, no snapshots, and a record that it was cloned from ${source.words}.`,
    };
    const steps: Step[] = [
      ...(frozen?.steps ?? []),
      ...diskSteps(domain, source, paths, intent),
      ...(nvram !== null ? [nvram] : []),
      define,
      ...(intent.start === true ? [{ kind: 'start-domain' as const, domain: intent.name, paused: false, sentence: `Start ${intent.name}.` }] : []),
    ];
    const files = Object.values(paths);
    const tooLong = nameTooLong([...(frozen?.created ?? []), ...files, ...(nvramCopy !== null ? [nvramCopy] : [])]);
    if (tooLong !== null) return { ok: false, refusal: tooLong };
    const warnings = [
      ...(source.branch !== null && frozen !== null
        ? [`Branch ${source.branch.name} goes on in new files (${frozen.created.map(basename).join(', ')}); its files so far are frozen for the clone.`]
        : []),
      ...sharedWritableWarnings(domain, intent.name),
      ...memoryNote(domain, intent),
      ...pinnedNote(domain, source, intent),
      ...cdromNotes(domain, intent.name),
    ];
    const space = intent.mode === 'full' ? source.disks.reduce((sum, d) => sum + chainBytes(domain, d.layer), 0) : OVERLAY_BYTES * files.length;
    return finishPlan(
      ctx,
      intent,
      steps,
      impact(domain, {
        created: [...(frozen?.created ?? []), ...files, ...(nvramCopy !== null ? [nvramCopy] : [])],
        metadata: [`definition of the new domain ${intent.name}`, ...(frozen !== null ? [`definition of ${domain.name}`, 'branch records'] : [])],
        changedNodes: frozen !== null && source.branch !== null ? [branchNodeId(source.branch.name)] : [],
        spaceBytes: space + OVERLAY_BYTES * (frozen?.created.length ?? 0),
        mustStop: false,
      }),
      warnings,
    );
  },
};
