/**
 * What a plan may act on, checked before its first step (and by recovery before it replays a journal):
 *
 * - every folder a step creates, writes, moves or deletes files in allows no other writer (`folder-trust.ts`),
 *   and a trash folder already there is the engine's own;
 * - every file a step has qemu-img or libvirt open (the file it writes and every layer of the chains it opens)
 *   and every file it moves is one only root or the engine's user can change (`file-trust.ts`);
 * - nothing stands where libvirt is to create a snapshot's new overlays;
 * - a clone's or an export's new files go into an existing folder (not a link to one), where nothing stands.
 *
 * A plan that fails is refused whole. Invariant: the files and folders that pass can only be changed by root or
 * the engine's user, so what this check saw holds for the whole operation; a header no other user can rewrite
 * names the same backing chain when the tool runs as when the check read it.
 */
import { dirname } from 'node:path';
import { walkChain } from '../../shared/assemble';
import { AppError } from '../../shared/errors';
import type { Layer, ScanResult } from '../../shared/model';
import type { Plan, Step } from '../../shared/ops/plan';
import { resolveBackingName } from '../scan/layers';
import { checkTargetFree } from './clone-files';
import { checkTrustedFile } from './file-trust';
import { checkTrustedFolder } from './folder-trust';
import { readHeaderOn } from './header-on';
import { localHostFiles, type HostFiles } from './host-files';
import type { JournalEntry } from './journal';
import { checkOverlaysFree } from './new-files';
import { existingTrash } from './trash-folder';

type SnapshotStep = Extract<Step, { kind: 'create-snapshot' }>;

/** Where the chains a step opens come from: the plan's scan before it runs, the headers on disk in recovery. */
interface Chains {
  /** The image at `path` (format `format`) and every layer of its backing chain, as qemu-img opens them. */
  of(path: string, format: string): Promise<string[]>;
  /** The chains libvirt opens to take the snapshot. */
  ofSnapshot(step: SnapshotStep): Promise<string[]>;
}

/** One file a step has a tool open or moves; `writes` when a tool writes it. */
interface Use {
  path: string;
  writes: boolean;
}

/** The folders in which `step` creates, writes, moves or deletes files (trash folders not included). */
function foldersOf(step: Step): string[] {
  switch (step.kind) {
    case 'create-overlay':
    case 'rebase':
    case 'repair':
    case 'trash':
    case 'keep-copy':
      return [dirname(step.path)];
    case 'commit':
    case 'block-commit':
      return [dirname(step.top), dirname(step.base)];
    case 'block-pull':
      return [dirname(step.top)];
    case 'create-snapshot':
      return [...Object.values(step.overlays), ...(step.memoryFile ? [step.memoryFile] : [])].map((path) => dirname(path));
    case 'stop-domain':
    case 'restore-domain':
      return step.memoryFile !== undefined ? [dirname(step.memoryFile)] : [];
    case 'convert':
    case 'copy-nvram':
      return [dirname(newFileOf(step))];
    default:
      return [];
  }
}

/** The new file a clone's or an export's step makes: a standalone image, or a variable store's copy. */
function newFileOf(step: Extract<Step, { kind: 'convert' | 'copy-nvram' }>): string {
  return step.kind === 'convert' ? step.target : step.copy;
}

/** The files `step` has a tool open or moves, each once, `writes` for those a tool writes. */
async function usesOf(step: Step, chains: Chains, previousBacking: string[]): Promise<Use[]> {
  const read = (paths: string[]): Use[] => paths.map((path) => ({ path, writes: false }));
  switch (step.kind) {
    case 'commit':
      // qemu-img commit opens the top read-write with its whole chain, and writes the base.
      return [{ path: step.top, writes: true }, { path: step.base, writes: true }, ...read(await chains.of(step.top, step.format))];
    case 'block-commit':
      // QEMU writes the base, and the header of the layer above the top (its new backing); the chain is the disk's.
      return [{ path: step.base, writes: true }, ...read(await chains.of(step.top, 'qcow2'))];
    case 'block-pull':
      return [{ path: step.top, writes: true }, ...read(await chains.of(step.top, 'qcow2'))];
    case 'rebase':
      return [
        { path: step.path, writes: true },
        ...read(await chains.of(step.path, step.format)),
        ...read(await chains.of(step.backing, step.backingFormat)),
        ...read(previousBacking),
      ];
    case 'repair':
      return [{ path: step.path, writes: true }, ...read(await chains.of(step.path, 'qcow2'))];
    case 'create-overlay':
      return read(await chains.of(step.backing, step.backingFormat));
    case 'create-snapshot':
      return read(await chains.ofSnapshot(step));
    case 'convert':
      // qemu-img reads the source through its whole chain; the target is the engine's own new file.
      return read(await chains.of(step.source, step.sourceFormat));
    case 'copy-nvram':
      return read([step.path]);
    case 'trash':
    case 'keep-copy':
      return read([step.path]);
    default:
      return [];
  }
}

/** The chains as the plan's scan saw them: a file the scan did not read (one a step makes) stands alone. */
function scanChains(scan: ScanResult): Chains {
  const layers = Object.assign({}, ...scan.domains.map((d) => d.layers)) as Record<string, Layer>;
  const of = (path: string) => {
    const chain = walkChain(layers, path);
    return chain.length > 0 ? chain : [path];
  };
  return {
    of: (path) => Promise.resolve(of(path)),
    ofSnapshot: async (step) =>
      (scan.domains.find((d) => d.name === step.domain)?.disks ?? [])
        .filter((d) => d.managed && step.overlays[d.target] !== undefined)
        .flatMap((d) => (d.chain.length > 0 ? d.chain : d.file !== null ? of(d.file) : [])),
  };
}

/** Links followed down one chain before stopping: far more than any real chain. */
const MAX_CHAIN = 1000;

/**
 * The chains as the headers on disk name them now (recovery has no scan). Only qcow2 headers are followed, with
 * the format each link records; a raw file ends its chain, whatever its guest wrote in it.
 */
function headerChains(files: HostFiles): Chains {
  const of = async (path: string, format: string): Promise<string[]> => {
    const chain = [path];
    let [at, fmt] = [path, format];
    while (fmt === 'qcow2' && chain.length < MAX_CHAIN) {
      let header;
      try {
        header = await readHeaderOn(files, at);
      } catch {
        break;
      }
      const next = header?.backingName == null || header.backingFormat == null ? null : resolveBackingName(at, header.backingName);
      if (next == null || header?.backingFormat == null) break;
      at = next;
      fmt = header.backingFormat;
      if (chain.includes(at)) break;
      chain.push(at);
    }
    return chain;
  };
  // Recovery opens no chain to undo a snapshot; to finish one it opens the overlays libvirt made, and what they build on.
  return { of, ofSnapshot: async (step) => (await Promise.all(Object.values(step.overlays).map((overlay) => of(overlay, 'qcow2')))).flat() };
}

/**
 * Checks every file the steps open or move. A missing file is skipped when `missingOk` says so (one a step of
 * the plan makes, or in recovery, where a step may have moved it); otherwise the world changed since the scan.
 */
async function checkFiles(uses: Use[], missingOk: (path: string) => boolean, files: HostFiles): Promise<void> {
  const writes = new Map<string, boolean>();
  for (const use of uses) writes.set(use.path, (writes.get(use.path) ?? false) || use.writes);
  const folders = new Set<string>();
  for (const [path, written] of writes) {
    if ((await checkTrustedFile(path, written, folders, files)) === 'missing' && !missingOk(path)) {
      throw new AppError('E_CHANGED', `${path} is gone since the scan; scan again and confirm the plan again.`, { path });
    }
  }
}

/**
 * Throws, naming the folder and what to fix, unless every folder the steps change files in allows no other
 * writer and every trash folder they move files into is, when it exists, the engine's own private folder.
 */
async function checkPlanFolders(steps: Step[], files: HostFiles): Promise<void> {
  const folders = new Set(steps.flatMap(foldersOf));
  for (const folder of folders) await checkTrustedFolder(folder, 'target', files);
  for (const step of steps) if (step.kind === 'trash' || step.kind === 'keep-copy') await existingTrash(dirname(step.path), files);
}

/**
 * The files that may be missing before the plan runs: those the steps make, and a UEFI variable store libvirt has
 * not made yet (a VM that never booted), which its copy step then leaves to libvirt (steps.ts, runCopyNvram).
 */
function madeBy(steps: Step[]): Set<string> {
  return new Set(
    steps.flatMap((s) => (s.kind === 'create-overlay' ? [s.path] : s.kind === 'create-snapshot' ? Object.values(s.overlays) : s.kind === 'copy-nvram' ? [s.path] : [])),
  );
}

/**
 * The places of a clone's or an export's new files, which may be in a folder the user named (`--dir`, `--to`):
 * the folder exists and is a folder itself, not a symbolic link (it is then checked as every folder a step writes
 * in: no other user may change it, folder-trust.ts), and nothing stands where a new file goes.
 */
async function checkNewFilePlaces(plan: Plan, files: HostFiles): Promise<void> {
  for (const step of plan.steps) {
    if (step.kind === 'convert') await checkTargetFree(step.target, 'the new image', files, plan.intent.op === 'export' ? 'choose another folder' : 'choose another name');
    if (step.kind === 'copy-nvram') await checkTargetFree(step.copy, 'the UEFI variable store of the clone', files);
    // A linked clone's overlays too, which may go into the folder the user named.
    if (step.kind === 'create-overlay' && plan.intent.op === 'clone') await checkTargetFree(step.path, 'a new overlay', files);
  }
}

/**
 * Refuses `plan` before its journal and first step unless its folders and files are trusted (see the module
 * comment), with the chains taken from `scan`, the fresh scan it was confirmed on; and unless nothing stands
 * where a snapshot's new overlays go.
 */
export async function checkPlanTrust(plan: Plan, scan: ScanResult, files: HostFiles = localHostFiles): Promise<void> {
  await checkNewFilePlaces(plan, files);
  await checkPlanFolders(plan.steps, files);
  const chains = scanChains(scan);
  const made = madeBy(plan.steps);
  await checkFiles(
    (await Promise.all(plan.steps.map((step) => usesOf(step, chains, [])))).flat(),
    (path) => made.has(path),
    files,
  );
  for (const step of plan.steps) {
    if (step.kind === 'create-snapshot') await checkOverlaysFree(step.overlays, step.memoryFile ?? null, undefined, files);
    if (step.kind === 'stop-domain' && step.memoryFile !== undefined) await checkOverlaysFree({}, step.memoryFile, 'the memory of the VM it stops', files);
  }
}

/**
 * Refuses to replay `entry` unless its folders and files are trusted, the chains read from the headers on disk
 * (with a rebase's old backing from its undo data); files a step already moved are skipped.
 */
export async function checkJournalTrust(entry: JournalEntry, files: HostFiles = localHostFiles): Promise<void> {
  await checkPlanFolders(entry.plan.steps, files);
  const chains = headerChains(files);
  const uses = await Promise.all(
    entry.plan.steps.map(async (step, i) => {
      const undo = entry.steps[i]?.undo;
      const oldBacking = step.kind === 'rebase' && undo?.kind === 'previous-backing' && undo.backing !== null ? resolveBackingName(step.path, undo.backing) : null;
      const old = oldBacking !== null && undo?.kind === 'previous-backing' && undo.format !== null ? await chains.of(oldBacking, undo.format) : [];
      return usesOf(step, chains, old);
    }),
  );
  await checkFiles(uses.flat(), () => true, files);
}
