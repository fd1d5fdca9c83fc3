/**
 * Scans a libvirt connection into the graph model. Every domain is read on its own: a domain or image that
 * cannot be read becomes a problem in the result and never stops the scan of the rest.
 */
import type { HostRunner } from '../tools/host-runner';
import type { FileView } from './file-view';
import { dirname } from 'node:path';
import type { Element } from '@xmldom/xmldom';
import { assembleDomain, type DomainFacts, type RecordedBranches, type SnapshotFacts } from '../../shared/assemble';
import { AppError } from '../../shared/errors';
import { sshTargetOf } from '../../shared/source-rules';
import { handlesExternalSnapshots } from '../../shared/domain-state';
import { knownSshFailure } from '../tools/ssh-runner';
import type { BranchTip, Disk, Domain, Layer, Problem, ScanResult } from '../../shared/model';
import { LayerReader } from './layers';
import { readVmChain, statedChainsOf } from './backing-store';
import { autoselectsEfi, branchRecordsOf, cloneRecordOf, defaultNvramOf, domainDisksOf, guestAgentOf, memoryBytesOf, nvramOf, parseDomainXml, type RawDisk } from './libvirt-xml';
import type { DomainReadout, Dumps, LibvirtReader } from './libvirt-reader';
import { readSnapshots } from './list-snapshots';
import { findLooseTips } from './loose-tips';
import { reportTrash } from './scan-folder';
import type { RawSnapshot, RawSnapshotDisk } from './snapshot-xml';

export interface LibvirtScanOptions {
  /** Scan only these domains (a rescan after an operation); all when omitted. */
  domains?: string[];
  /** The files of the host that holds the disks: this computer's when omitted (see remote-scan.ts). */
  files?: FileView;
  /** Where qemu-img runs, on that same host. */
  runner?: HostRunner;
}

/** A domain disk with its image read; a missing or odd image makes the disk unmanaged, with a problem. */
async function diskFacts(reader: LayerReader, name: string, raw: RawDisk, live: boolean, problems: Problem[]): Promise<Omit<Disk, 'chain'>> {
  const base = {
    target: raw.target,
    device: raw.device,
    format: raw.format,
    managed: raw.managed,
    file: raw.file,
    ...(raw.readonly === true ? { readonly: true } : {}),
    ...(raw.shareable === true ? { shareable: true } : {}),
  };
  if (live && raw.mirror != null) {
    problems.push({
      code: 'block-job',
      severity: 'error',
      message: `A block job runs on disk ${raw.target}, into ${raw.mirror}, and waits to be finished (see virsh blockjob ${name} ${raw.target} --info); nothing is changed on this domain until it ends.`,
      domain: name,
      target: raw.target,
      path: raw.mirror,
    });
  }
  if (!raw.managed || raw.file === null) return { ...base, ...(raw.reason !== undefined ? { reason: raw.reason } : {}) };
  const file = await reader.read(raw.file, raw.format ?? 'qcow2', { shared: live, referrer: `domain "${name}" disk ${raw.target}` });
  if (file !== null) return { ...base, file };
  const real = reader.canonical(raw.file);
  const odd = reader.problemsFor(new Set(real === null ? [] : [real])).find((p) => p.code === 'not-regular-file');
  if (odd !== undefined) {
    problems.push({ ...odd, domain: name, target: raw.target });
    return { ...base, managed: false, reason: 'Its image is not a regular file.' };
  }
  problems.push({
    code: 'missing-file',
    severity: 'error',
    message: `Disk ${raw.target} uses ${raw.file}, which does not exist or is not an image.`,
    domain: name,
    target: raw.target,
    path: raw.file,
  });
  return { ...base, managed: false, reason: 'Its image file is missing.' };
}

type SnapshotDiskFacts = SnapshotFacts['disks'][number];

/** A snapshot's disk with the overlay that took it over read; a missing overlay is a warning. */
async function snapshotDiskFacts(reader: LayerReader, domain: string, snapshot: string, disk: RawSnapshotDisk, live: boolean, problems: Problem[]): Promise<SnapshotDiskFacts> {
  const listed = {
    target: disk.target,
    kind: disk.kind,
    type: disk.type,
    source: disk.source,
    managed: disk.managed,
    ...(disk.reason !== undefined ? { reason: disk.reason } : {}),
  };
  if (!disk.managed || disk.overlay === null) return { ...listed, overlay: null };
  const overlay = await reader.read(disk.overlay, disk.format ?? 'qcow2', { shared: live });
  if (overlay === null) {
    // libvirt 9.9+ deletes the overlay of a state it reverts away from: the saved definition still names the state.
    const saved = disk.savedFile?.() ?? null;
    const state = saved === null ? null : await reader.read(saved.file, saved.format ?? 'raw', { shared: live });
    problems.push({
      code: 'missing-file',
      severity: state === null ? 'warning' : 'info',
      message:
        state === null
          ? `Snapshot "${snapshot}": the file ${disk.overlay} that took over disk ${disk.target} is missing.`
          : `Snapshot "${snapshot}": the file ${disk.overlay} that took over disk ${disk.target} is gone (libvirt 9.9+ removes it when it reverts away from that state); the saved state its record names, ${saved?.file ?? ''}, is there.`,
      domain,
      snapshot,
      target: disk.target,
      path: disk.overlay,
    });
    if (state !== null) return { ...listed, overlay, savedState: state };
  }
  return { ...listed, overlay };
}

async function snapshotFacts(reader: LayerReader, domain: string, raw: RawSnapshot, readout: DomainReadout, problems: Problem[]): Promise<SnapshotFacts> {
  const revertFiles = await Promise.all(raw.revertFiles.map((file) => reader.read(file, 'qcow2')));
  return {
    name: raw.name,
    parent: raw.parent,
    description: raw.description,
    created: raw.created,
    state: raw.state,
    current: raw.name === readout.current,
    memoryFile: raw.memoryFile,
    revertFiles: revertFiles.filter((f): f is string => f !== null),
    disks: await Promise.all(raw.disks.map((disk) => snapshotDiskFacts(reader, domain, raw.name, disk, readout.live, problems))),
  };
}

/**
 * The live XML of a running domain states the chain its QEMU has open; a shut-off domain's XML states one only
 * where the user wrote a <backingStore>, which libvirt then hands to QEMU instead of the headers.
 */
async function vmChainOverrides(reader: LayerReader, name: string, root: Element, disks: Array<Omit<Disk, 'chain'>>, live: boolean, problems: Problem[]): Promise<Record<string, Layer>> {
  const stated = statedChainsOf(root);
  const overrides: Record<string, Layer> = {};
  for (const disk of disks) {
    const chain = stated.get(disk.target);
    if (chain === undefined || !disk.managed || disk.file === null) continue;
    const vm = await readVmChain(reader, disk.file, disk.target, chain, `domain "${name}" disk ${disk.target}`, live);
    Object.assign(overrides, vm.overrides);
    if (vm.problem !== null) problems.push({ ...vm.problem, domain: name });
  }
  return overrides;
}

/**
 * The memory file a branch was saved with, when it is still the regular file saved then (its fingerprint, where
 * recorded); otherwise a warning, and the branch resumes nothing.
 */
function savedMemory(reader: LayerReader, file: string, recorded: string | undefined, domain: string, branch: string, problems: Problem[]): string | null {
  const now = reader.files.memoryFingerprint(file);
  if (now !== null && (recorded === undefined || recorded === now)) return file;
  const what = now === null ? 'missing, or not a regular file' : 'another file than the one saved then';
  problems.push({
    code: 'missing-file',
    severity: 'warning',
    message: `Branch "${branch}" records the VM's saved memory in ${file}, which is ${what}: switching to it leaves the VM shut off (or starts it afresh when asked) instead of resuming it.`,
    domain,
    branch,
    path: file,
  });
  return null;
}

/** The branches recorded in the persistent definition, each tip read; a record with a missing tip is an error. */
async function branchFacts(reader: LayerReader, name: string, readRecords: () => RecordedBranches, problems: Problem[]): Promise<RecordedBranches> {
  let recorded: RecordedBranches = { current: null, branches: [] };
  try {
    recorded = readRecords();
  } catch (error) {
    problems.push({ code: 'bad-metadata', severity: 'warning', message: `Branch records cannot be read: ${(error as Error).message}`, domain: name });
  }
  const branches = await Promise.all(
    recorded.branches.map(async (branch) => {
      const tips = await Promise.all(branch.tips.map(async (tip) => ({ target: tip.target, file: await reader.read(tip.file, 'qcow2') })));
      const memory = branch.memory === undefined ? null : savedMemory(reader, branch.memory, branch.memoryFingerprint, name, branch.name, problems);
      const fingerprint = memory !== null && branch.memoryFingerprint !== undefined ? { memoryFingerprint: branch.memoryFingerprint } : {};
      return { name: branch.name, tips: tips.filter((t): t is BranchTip => t.file !== null), ...(memory !== null ? { memory, ...fingerprint } : {}) };
    }),
  );
  for (const [i, branch] of recorded.branches.entries()) {
    if ((branches[i]?.tips.length ?? 0) < branch.tips.length) {
      problems.push({ code: 'missing-file', severity: 'error', message: `Branch "${branch.name}" records a tip file that is missing.`, domain: name, branch: branch.name });
    }
  }
  return { current: recorded.current, branches: branches.filter((b) => b.tips.length > 0) };
}

/**
 * What one domain's definition and snapshots say, with paths made canonical; `overrides` are layers re-linked as
 * the VM reads them where the XML states a `<backingStore>` (see backing-store.ts).
 */
async function collectDomain(libvirt: LibvirtReader, reader: LayerReader, name: string, readout: DomainReadout, ahead: Dumps): Promise<{ facts: DomainFacts; overrides: Record<string, Layer> }> {
  const problems: Problem[] = [];
  // One parse of the definition serves its disks, its stated chains and, when they are the same text, its records.
  const root = parseDomainXml(readout.xml);
  // The disks' chains are read while the snapshot dumps are still coming; their problems come after the snapshots'.
  const diskProblems: Problem[] = [];
  const disksRead = Promise.all(domainDisksOf(root).map((raw) => diskFacts(reader, name, raw, readout.live, diskProblems)));
  const rawSnapshots = await readSnapshots(libvirt, name, readout.snapshotNames, problems, ahead);
  const disks = await disksRead;
  problems.push(...diskProblems);
  const snapshots = await Promise.all(rawSnapshots.map((raw) => snapshotFacts(reader, name, raw, readout, problems)));
  const overrides = await vmChainOverrides(reader, name, root, disks, readout.live, problems);
  const configRoot = () => (readout.configXml === readout.xml ? root : parseDomainXml(readout.configXml));
  const recorded = await branchFacts(reader, name, () => branchRecordsOf(configRoot()), problems);
  const guestAgent = guestAgentOf(root);
  const memoryBytes = memoryBytesOf(root);
  // The clone record and the variable store are the persistent definition's (a definition that does not parse
  // is reported with the branch records).
  const persistent = ((): ReturnType<typeof configRoot> | null => {
    try {
      return configRoot();
    } catch {
      return null;
    }
  })();
  const cloneOf = persistent === null ? undefined : cloneRecordOf(persistent);
  const nvram = persistent === null ? undefined : variableStore(reader, libvirt.uri, name, persistent, readout.live ? root : null);
  const facts: DomainFacts = {
    name,
    state: readout.state,
    disks,
    snapshots,
    recorded,
    layers: {},
    problems,
    ...(guestAgent !== undefined ? { guestAgent } : {}),
    ...(memoryBytes !== undefined ? { memoryBytes } : {}),
    ...(cloneOf !== undefined ? { cloneOf } : {}),
    ...(nvram !== undefined ? { nvram } : {}),
  };
  return { facts, overrides };
}

/** The files a domain's model refers to: disks, snapshot overlays, branch tips. */
function rootsOf(facts: DomainFacts): string[] {
  const roots: string[] = [];
  for (const disk of facts.disks) if (disk.managed && disk.file !== null) roots.push(disk.file);
  for (const snap of facts.snapshots) for (const disk of snap.disks) if (disk.overlay !== null) roots.push(disk.overlay);
  for (const branch of facts.recorded.branches) for (const tip of branch.tips) roots.push(tip.file);
  return roots;
}

/**
 * The layers of the chains from `roots`. A walk stops at a layer taken already: everything below it was taken
 * with it, so chains sharing a base (every overlay of a domain) are walked once, not once per root.
 */
function layersFrom(all: Record<string, Layer>, roots: Iterable<string>): Record<string, Layer> {
  const layers: Record<string, Layer> = {};
  for (const root of roots) {
    for (let layer = all[root]; layer !== undefined && layers[layer.path] === undefined; layer = layer.backing === null ? undefined : all[layer.backing]) {
      layers[layer.path] = layer;
    }
  }
  return layers;
}

function unreadableDomain(name: string, error: unknown): Domain {
  return {
    name,
    state: 'unknown',
    disks: [],
    snapshots: [],
    branches: [],
    layers: {},
    problems: [
      {
        code: 'domain-unreadable',
        severity: 'error',
        message: `Domain "${name}" cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        domain: name,
      },
    ],
  };
}

/** The domains to scan: all the connection lists, unless given. */
async function listDomains(libvirt: LibvirtReader, options: LibvirtScanOptions): Promise<string[]> {
  if (options.domains !== undefined) return options.domains;
  try {
    return await libvirt.listDomains();
  } catch (error) {
    const said = error instanceof AppError ? String(error.details?.stderr ?? error.message) : String(error);
    // libvirt reaches a qemu+ssh:// host with ssh itself: what ssh said is told as the SSH runner tells it.
    const target = sshTargetOf(libvirt.uri);
    const ssh = target === null ? null : knownSshFailure(target, said);
    if (ssh !== null) throw new AppError('E_CONNECT', `Cannot read libvirt at ${libvirt.uri}: ${ssh.message}`, { uri: libvirt.uri, stderr: said.trim() });
    throw new AppError('E_CONNECT', `Cannot read libvirt at ${libvirt.uri}: ${said}`, { uri: libvirt.uri });
  }
}

type Collected = { facts: DomainFacts; overrides: Record<string, Layer> };

/**
 * The UEFI variable store a domain uses: the one its persistent definition names; else, where libvirt chooses the
 * firmware (`<os firmware='efi'>`, no `<nvram>`), the one its running definition names (`live`), or the default
 * place when a file is there (it is made at the first start). Undefined when it has none.
 */
function variableStore(reader: LayerReader, uri: string, name: string, persistent: Element, live: Element | null): string | undefined {
  const named = nvramOf(persistent);
  if (named !== undefined || !autoselectsEfi(persistent)) return named;
  const running = live === null ? undefined : nvramOf(live);
  if (running !== undefined) return running;
  const place = defaultNvramOf(uri, name);
  if (place === null) return undefined;
  try {
    return reader.files.lstat(place).isFile() ? place : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gives each domain its layers: its chains as its VM reads them (the header readings, with its own
 * <backingStore> links on top), then the loose tips growing from them, with the problems about those files.
 */
async function attachLayers(reader: LayerReader, collected: Collected[], others?: () => Promise<string[]>): Promise<void> {
  const claimed = new Set(Object.keys(reader.layers));
  let otherFiles: Promise<Set<string>> | undefined;
  // A scan of some domains (a rescan after an operation) reads the other domains' files, once, only when a file
  // grows from one of the scanned layers, or a leaf no record names is left: it may be a clone's or another
  // domain's, never loose. What they hold is claimed as soon as it is read.
  const fromOthers =
    others === undefined
      ? undefined
      : () =>
          (otherFiles ??= others().then((paths) => {
            for (const path of paths) claimed.add(path);
            return new Set(paths);
          }));
  const claimMore = fromOthers === undefined ? undefined : async () => void (await fromOthers());
  // Per domain, the layers its disks and records reach, without the loose tips found beside them.
  const reached: Array<{ facts: DomainFacts; own: string[] }> = [];
  for (const { facts, overrides } of collected) {
    // Copied only where the domain re-links layers: a host of thousands of layers is not copied per domain.
    const view = () => (Object.keys(overrides).length === 0 ? reader.layers : { ...reader.layers, ...overrides });
    const own = layersFrom(view(), rootsOf(facts));
    reached.push({ facts, own: Object.keys(own) });
    const loose = await findLooseTips(reader, own, claimed, claimMore);
    // Loose tips were read just now: the view is taken again to hold them.
    facts.layers = loose.length === 0 ? own : { ...own, ...layersFrom(view(), loose) };
    facts.problems.push(...reader.problemsFor(new Set(Object.keys(facts.layers))));
  }
  await markUsedElsewhere(reached, fromOthers);
}

/** The leaves of a domain's layers that neither its disks nor its branch records name: the candidates for loose tips. */
function unnamedLeaves(facts: DomainFacts): string[] {
  const parents = new Set(Object.values(facts.layers).flatMap((l) => (l.backing !== null ? [l.backing] : [])));
  const named = new Set([...facts.disks.flatMap((d) => (d.file !== null ? [d.file] : [])), ...facts.recorded.branches.flatMap((b) => b.tips.map((t) => t.file))]);
  return Object.keys(facts.layers).filter((path) => !parents.has(path) && !named.has(path));
}

/**
 * Notes, per domain, the leaves no record names that another domain holds (a linked clone built on a branch's
 * frozen tip once that branch is deleted, a domain on a shared file): they are that domain's backing, never a
 * loose tip to switch to and write (DomainFacts.usedElsewhere). The domains left out of a partial scan are read
 * (`fromOthers`) only when such a leaf is left.
 */
async function markUsedElsewhere(reached: Array<{ facts: DomainFacts; own: string[] }>, fromOthers?: () => Promise<Set<string>>): Promise<void> {
  // A loose tip beside a shared base is found from each domain on it: only what a domain's disks and records reach holds.
  const holders = new Map<string, number>();
  for (const { own } of reached) for (const path of own) holders.set(path, (holders.get(path) ?? 0) + 1);
  for (const { facts, own } of reached) {
    const leaves = unnamedLeaves(facts);
    if (leaves.length === 0) continue;
    const mine = new Set(own);
    const heldElsewhere = (path: string) => (holders.get(path) ?? 0) > (mine.has(path) ? 1 : 0);
    const alone = leaves.filter((path) => !heldElsewhere(path));
    const outside = alone.length > 0 && fromOthers !== undefined ? await fromOthers() : new Set<string>();
    const used = leaves.filter((path) => heldElsewhere(path) || outside.has(path));
    if (used.length > 0) facts.usedElsewhere = used;
  }
}

/**
 * A trash folder beside a domain's files that is not the engine's own is named among that domain's problems. A
 * file in a chain directory that could not be read may be a loose tip of any layer of a domain with a layer there
 * (that is where loose tips are looked for): the domain carries the problem, and the guard freezes it.
 */
async function attachFolderProblems(reader: LayerReader, collected: Collected[]): Promise<void> {
  await Promise.all([...new Set(Object.keys(reader.layers).map(dirname))].map((dir) => reportTrash(reader, dir)));
  const unsafeTrash = reader.problemsFor().filter((p) => p.code === 'unsafe-trash');
  const unreadable = reader.problemsFor().filter((p) => p.code === 'unreadable-name' || p.code === 'unreadable-file');
  const dirOf = (p: Problem): string => (p.code === 'unreadable-name' ? (p.path ?? '') : dirname(p.path ?? ''));
  for (const { facts } of collected) {
    const dirs = new Set(Object.keys(facts.layers).map(dirname));
    facts.problems.push(...unsafeTrash.filter((p) => dirs.has(dirname(p.path ?? ''))).map((p) => ({ ...p, domain: facts.name })));
    facts.problems.push(...unreadable.filter((p) => dirs.has(dirOf(p))).map((p) => ({ ...p, domain: facts.name })));
  }
}

/**
 * Notes, on a domain with snapshots and branches besides the one it runs on, that libvirt's own snapshot-delete
 * (9.9 and later) knows only the chain the domain runs on (docs/safety.md, rule 4).
 */
function noteNativeDelete(domain: Domain): void {
  const others = domain.branches.filter((b) => !b.current).map((b) => b.name);
  if (others.length === 0 || domain.snapshots.length === 0) return;
  domain.problems.push({
    code: 'native-delete',
    severity: 'info',
    message: `Delete ${domain.name}'s snapshots here, not with virsh snapshot-delete: libvirt's own delete knows only the chain ${domain.name} runs on, and can delete or write into files that ${others.length === 1 ? `branch "${others[0] ?? ''}" uses` : `branches ${others.map((n) => `"${n}"`).join(', ')} use`}.`,
    domain: domain.name,
  });
}

/**
 * The files the domains not in `scanned` use (their disks' chains and their branch records' tips), read with a
 * reader of their own so the scan's layers and problems stay those of the scanned domains. A domain that cannot be
 * read claims nothing.
 */
async function otherDomainsFiles(libvirt: LibvirtReader, scanned: readonly string[], options: LibvirtScanOptions): Promise<string[]> {
  const names = (await libvirt.listDomains().catch((): string[] => [])).filter((name) => !scanned.includes(name));
  const reader = new LayerReader({ files: options.files, runner: options.runner });
  await Promise.all(
    names.map(async (name) => {
      try {
        const readout = await libvirt.readDomain(name);
        const disks = domainDisksOf(parseDomainXml(readout.xml)).flatMap((disk) => (disk.managed && disk.file !== null ? [{ file: disk.file, format: disk.format ?? 'raw' }] : []));
        const tips = branchRecordsOf(parseDomainXml(readout.configXml)).branches.flatMap((branch) => branch.tips.map((tip) => ({ file: tip.file, format: 'qcow2' })));
        await Promise.all([...disks, ...tips].map((f) => reader.read(f.file, f.format, { shared: readout.live })));
      } catch {
        // Unreadable: it claims nothing, and its own scan reports it.
      }
    }),
  );
  return Object.keys(reader.layers);
}

/** Scans a libvirt connection: domains, their snapshots, layers, branches and loose tips. */
export async function scanLibvirt(libvirt: LibvirtReader, options: LibvirtScanOptions = {}): Promise<ScanResult> {
  // The hypervisor's version line is asked beside the domains: the domains' readings do not wait for it.
  const version = libvirt.version();
  const names = await listDomains(libvirt, options);
  const reader = new LayerReader({ files: options.files, runner: options.runner });
  // Every domain is read first, then every snapshot not dumped with its domain is asked for at once (dumpAhead).
  const readouts = await Promise.all(names.map((name) => libvirt.readDomain(name).then((readout) => ({ readout }), (error: unknown) => ({ error }))));
  const ahead = libvirt.dumpAhead(
    readouts.map((read, i) => ({ domain: names[i] ?? '', names: 'readout' in read && read.readout.dumps === undefined ? read.readout.snapshotNames : [] })),
  );
  const results = await Promise.all(
    names.map(async (name, i) => {
      const read = readouts[i];
      if (read === undefined || 'error' in read) return { name, error: read?.error };
      return collectDomain(libvirt, reader, name, read.readout, read.readout.dumps ?? ahead[i] ?? new Map()).then(
        (collected) => ({ name, collected }),
        (error: unknown) => ({ name, error }),
      );
    }),
  );
  const collected = results.flatMap((r) => ('collected' in r ? [r.collected] : []));
  await attachLayers(reader, collected, options.domains === undefined ? undefined : () => otherDomainsFiles(libvirt, names, options));
  await attachFolderProblems(reader, collected);
  const domains = results.map((r) => ('collected' in r ? assembleDomain(r.collected.facts) : unreadableDomain(r.name, r.error)));
  const hypervisor = await version;
  if (handlesExternalSnapshots(hypervisor)) for (const domain of domains) noteNativeDelete(domain);
  return {
    source: { kind: 'libvirt', uri: libvirt.uri },
    scannedAt: new Date().toISOString(),
    hypervisor,
    domains,
    problems: [],
  };
}
