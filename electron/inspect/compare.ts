/**
 * Compares two nodes of a domain, per disk: the fork point from the backing chains, what each side added since,
 * whether the guest reads the same bytes (`qemu-img compare`), and which regions each side changed since the
 * fork (`qemu-img map`: an extent served from a layer above the fork was written on that side).
 */
import { flaggedInChain, flaggedPaths, unknownLink, walkChain } from '../../shared/assemble';
import { diskOfFile } from '../../shared/file-graph';
import { AppError } from '../../shared/errors';
import { mergeExtents, type CompareSide, type Comparison, type DiskComparison, type Extent } from '../../shared/inspect';
import type { Domain, Layer } from '../../shared/model';
import { branchNodeId, snapshotNodeId } from '../../shared/snapshot-graph';
import type { HostRunner } from '../tools/host-runner';
import { qemuImgCompare, qemuImgMap, type MapExtent } from '../tools/qemu-img';

/** `qemu-img map -U` on the host of the files: for display only, so it may read images a running VM holds. */
const mapOf = (file: string, format: string, runner?: HostRunner): Promise<MapExtent[]> => qemuImgMap({ path: file, format }, true, { runner });

/** `qemu-img compare -U`, both formats named: null when identical, else the first differing offset. */
async function firstDifference(a: string, formatA: string, b: string, formatB: string, runner?: HostRunner): Promise<number | null> {
  const verdict = await qemuImgCompare({ path: a, format: formatA }, { path: b, format: formatB }, true, { runner });
  return verdict.identical ? null : (verdict.firstDifference ?? 0);
}

/** The file holding a node's view of a disk: a snapshot's saved state, a branch's tip, or the file itself. */
function fileOf(domain: Domain, node: string, target: string): string | null {
  if (node.startsWith('f:')) return node.slice(2);
  if (node.startsWith('s:')) {
    const snap = domain.snapshots.find((s) => snapshotNodeId(s.name) === node);
    return snap?.disks.find((d) => d.target === target)?.stateLayer ?? null;
  }
  const branch = domain.branches.find((b) => branchNodeId(b.name) === node);
  return branch?.tips.find((t) => t.target === target)?.file ?? null;
}

function targetsOf(domain: Domain, node: string): string[] {
  if (node.startsWith('f:')) {
    const target = diskOfFile(domain, node.slice(2));
    if (target === null) throw new AppError('E_NOT_FOUND', `${node.slice(2)} is not a file of a disk of ${domain.name}.`);
    return [target];
  }
  if (node.startsWith('s:')) return domain.snapshots.find((s) => snapshotNodeId(s.name) === node)?.disks.filter((d) => d.stateLayer !== null).map((d) => d.target) ?? [];
  return domain.branches.find((b) => branchNodeId(b.name) === node)?.tips.map((t) => t.target) ?? [];
}

/**
 * The format of a file qemu-img is about to open, with its whole chain. Refuses a file whose chain has a link
 * qemu-img would have to probe (no recorded backing format) or could not follow: a guessed format can make
 * qemu-img open a host file that a guest named in a header it wrote (docs/safety.md, rule 9). Refuses a chain holding
 * an image with an external data file too: qemu-img would read the file its header names, which may be any file. And a
 * chain holding an encrypted image: its data needs a secret the app does not hold.
 */
function formatOf(domain: Domain, file: string): string {
  const encrypted = walkChain(domain.layers, file).find((p) => (domain.layers[p]?.encrypted ?? null) !== null);
  if (encrypted !== undefined) {
    throw new AppError(
      'E_NOT_SUPPORTED',
      `${file} cannot be compared: its chain has an encrypted image (${encrypted}), whose guest data cannot be read without its secret, which the app does not handle yet.`,
      { path: file, encryptedImage: encrypted },
    );
  }
  const dataFile = flaggedInChain(domain.layers, file, flaggedPaths(domain.problems, 'external-data-file'));
  if (dataFile !== null) {
    throw new AppError(
      'E_NOT_SUPPORTED',
      `${file} cannot be compared: its chain has an image with an external data file (${dataFile}), which qemu-img would open and read; the app cannot vouch for that file, so it does not open it until external data files are supported.`,
      { path: file, dataFileImage: dataFile },
    );
  }
  const link = unknownLink(domain.layers, file);
  if (link !== null) {
    throw new AppError(
      'E_NOT_SUPPORTED',
      `${file} cannot be compared: its chain has a backing link qemu-img cannot follow as recorded, at ${link} (no recorded format, or a file that was not read). It is never probed.`,
      { path: file, link },
    );
  }
  return (domain.layers[file] as Layer).format;
}

async function side(domain: Domain, node: string, file: string, fork: string | null, runner?: HostRunner): Promise<CompareSide> {
  const chain = walkChain(domain.layers, file);
  const cut = fork === null ? chain.length : chain.indexOf(fork);
  const ownLayers = chain.slice(0, cut);
  const extents = await mapOf(file, formatOf(domain, file), runner);
  const changed: Extent[] = extents.filter((e) => (e.present ?? (e.data || e.zero)) && e.depth < ownLayers.length).map((e) => [e.start, e.length]);
  return {
    node,
    file,
    ownLayers,
    allocatedSinceFork: ownLayers.reduce((sum, p) => sum + (domain.layers[p]?.actualSize ?? 0), 0),
    changed: mergeExtents(changed),
  };
}

/** Compares two nodes of a domain per disk; qemu-img runs on the host of its files (`runner`; this computer when omitted). */
export async function compareNodes(domain: Domain, a: string, b: string, runner?: HostRunner): Promise<Comparison> {
  const targets = targetsOf(domain, a).filter((t) => targetsOf(domain, b).includes(t));
  if (targets.length === 0) throw new AppError('E_NOT_FOUND', `"${a}" and "${b}" share no disk to compare in ${domain.name}.`);
  const disks: DiskComparison[] = [];
  for (const target of targets) {
    const fileA = fileOf(domain, a, target) as string;
    const fileB = fileOf(domain, b, target) as string;
    const chainB = new Set(walkChain(domain.layers, fileB));
    const fork = walkChain(domain.layers, fileA).find((p) => chainB.has(p)) ?? null;
    const difference = firstDifference(fileA, formatOf(domain, fileA), fileB, formatOf(domain, fileB), runner);
    const [sideA, sideB, differs] = await Promise.all([side(domain, a, fileA, fork, runner), side(domain, b, fileB, fork, runner), difference]);
    disks.push({
      target,
      virtualSize: Math.max(domain.layers[fileA]?.virtualSize ?? 0, domain.layers[fileB]?.virtualSize ?? 0),
      fork,
      a: sideA,
      b: sideB,
      identical: differs === null,
      firstDifference: differs,
    });
  }
  return { domain: domain.name, a, b, disks };
}
