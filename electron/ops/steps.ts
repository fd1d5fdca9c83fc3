/**
 * Runs, and undoes, one plan step with the real tools. Every runner is idempotent, so recovery can run a step
 * that may already have run; every undo works from data captured before the step ran.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import type { BranchRecords, Step, StepKind } from '../../shared/ops/plan';
import { stepCommand, writesPastCache, type RunFacts, type Tool } from '../../shared/ops/step-command';
import { trashPathOf } from '../../shared/ops/trash-names';
import { runChecked } from '../tools/host-runner';
import { runQemuImg } from '../tools/qemu-img';
import { resolveBackingName } from '../scan/layers';
import { isNotFound, type Virsh } from '../tools/virsh';
import type { UndoData } from './journal';
import { checkOverlaysFree, createOverlayFile, isMemoryFile, isOverlayFile, removeOverlayFile, secureOverlay } from './new-files';
import { checkBlockJobStart, runBlockJob, undoBlockPull } from './block-jobs';
import { writeTrashManifest } from './trash';
import { checkMove, checkOperationFolder, ensureOperationFolder } from './trash-folder';
import { cloneDomainXml, outputFilesOf, editDomainXml, editSnapshotXml, hasRevertDisks, setRevertDisks, setSnapshotDescription } from './xml-edit';
import {
  checkFolderThere,
  checkTargetFree,
  isConvertedTarget,
  isNvramCopy,
  makePart,
  ownerOfFile,
  partFileOf,
  partState,
  placePart,
  removePart,
} from './clone-files';
import { checkTrustedFolder } from './folder-trust';
import { readHeaderOn } from './header-on';
import { lexists, lstatOrNull, type HostFiles } from './host-files';
import { currentName } from '../scan/list-snapshots';
import { cloneRecordOf, domainDisksOf, parseDomainXml } from '../scan/libvirt-xml';

export interface StepContext {
  virsh: Virsh | null;
  /** The files of the host the operation acts on (where its domain's disks are), and its tools. */
  files: HostFiles;
  operationId: string;
  /** The operation's domain and kind, recorded beside what it trashes. */
  domain: string;
  op: string;
  /** Percent done of the running step, when the tool reports it. */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
  /** Called once a block job the step starts runs in QEMU. */
  onJobStarted?: () => void;
}

function needVirsh(ctx: StepContext): Virsh {
  if (ctx.virsh === null) throw new AppError('E_NOT_SUPPORTED', 'This step needs a libvirt connection.');
  return ctx.virsh;
}

async function withTempFile<T>(content: string, use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-xml-'));
  try {
    const file = join(dir, 'definition.xml');
    await writeFile(file, content, { mode: 0o600 });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The arguments of the command a step runs, from the one function that also builds the preview's line
 * (`step-command.ts`); `tool` is the one this runner starts, checked so a step never runs through the wrong one.
 */
function argsFor(step: Step, tool: Tool, run: RunFacts = {}): string[] {
  const command = stepCommand(step, run);
  if (command?.tool !== tool) throw new AppError('E_INTERNAL', `Step ${step.kind} does not run ${tool}.`);
  return command.args;
}

/** Runs qemu-img for a step, streaming its `-p` progress to the context. */
async function qemuImg(ctx: StepContext, args: string[]): Promise<void> {
  await runQemuImg(args, { runner: ctx.files.runner, ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}) });
}

/**
 * Copies a file sparsely (and as a reflink where the file system can) to the step's copy, where nothing may stand
 * (checked right before by the caller, in the engine's private trash folder); the copy is made 0600 through a
 * descriptor opened without following a link.
 */
async function copyFile(step: StepOf<'keep-copy'>, ctx: StepContext): Promise<void> {
  await runChecked(ctx.files.runner, 'cp', argsFor(step, 'cp'), ctx.signal ? { signal: ctx.signal } : {});
  await ctx.files.secure(step.copy, null);
}

/** A snapshot's record as libvirt holds it, secrets included (to define it again as it was). */
function snapshotXml(virsh: Virsh, domain: string, name: string): Promise<string> {
  return virsh.run(['snapshot-dumpxml', '--domain', domain, '--snapshotname', name, '--security-info']);
}

async function currentSnapshot(virsh: Virsh, domain: string): Promise<string | null> {
  try {
    // The name as libvirt holds it (it may start or end with spaces): only virsh's line break goes.
    return currentName(await virsh.run(['snapshot-current', '--domain', domain, '--name']));
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** What undoing `step` will need, read from the world before it runs. */
export async function captureUndo(step: Step, ctx: StepContext): Promise<UndoData> {
  switch (step.kind) {
    case 'define-domain':
    case 'create-snapshot':
      return { kind: 'previous-xml', xml: await needVirsh(ctx).run(['dumpxml', '--domain', step.domain, '--inactive', '--security-info']), current: false };
    case 'set-current-snapshot': {
      const virsh = needVirsh(ctx);
      const snapshot = await currentSnapshot(virsh, step.domain);
      if (step.revertDisks === undefined) return { kind: 'previous-current', snapshot };
      // The record that was current too: making another one current clears its revert disks.
      const currentXml = snapshot !== null && snapshot !== step.snapshot ? await snapshotXml(virsh, step.domain, snapshot) : null;
      return { kind: 'previous-current-xml', snapshot, xml: await snapshotXml(virsh, step.domain, step.snapshot), currentXml };
    }
    case 'redefine-snapshot':
    case 'delete-snapshot-metadata': {
      const virsh = needVirsh(ctx);
      try {
        const xml = await snapshotXml(virsh, step.domain, step.snapshot);
        return { kind: 'previous-xml', xml, current: (await currentSnapshot(virsh, step.domain)) === step.snapshot };
      } catch (error) {
        // Already gone: a crash after the step ran; nothing is left to capture.
        if (isNotFound(error)) return { kind: 'none' };
        throw error;
      }
    }
    case 'rebase': {
      const header = await readHeaderOn(ctx.files, step.path);
      return { kind: 'previous-backing', backing: header?.backingName ?? null, format: header?.backingFormat ?? null };
    }
    default:
      return { kind: 'none' };
  }
}

async function snapshotExists(virsh: Virsh, domain: string, name: string): Promise<boolean> {
  try {
    await virsh.run(['snapshot-info', '--domain', domain, '--snapshotname', name]);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * What must hold before a step starts, checked before it is journaled as started (so a refusal here leaves
 * nothing to undo): a snapshot's new overlays have nothing standing at their paths; a block job's disk runs no
 * job, and its chain is the one the plan saw.
 */
export async function checkBeforeStep(step: Step, ctx: StepContext): Promise<void> {
  if (step.kind === 'create-snapshot') await checkOverlaysFree(step.overlays, step.memoryFile ?? null, undefined, ctx.files);
  if (step.kind === 'block-commit' || step.kind === 'block-pull') await checkBlockJobStart(step, needVirsh(ctx), ctx.files);
  // An export's target has no name to choose; a clone's may go into another folder too (--dir).
  if (step.kind === 'convert') await checkTargetFree(step.target, 'the new image', ctx.files, 'choose another folder');
  if (step.kind === 'copy-nvram') await checkTargetFree(step.copy, 'the UEFI variable store of the clone', ctx.files);
  if (step.kind === 'define-clone' && (await domainNamed(needVirsh(ctx), step.name)) !== null) throw nameTaken(step.name);
}

/** The step of one kind. */
type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

/** Takes a snapshot through libvirt unless it exists already (a run before a crash), then secures its new overlays. */
async function runCreateSnapshot(step: StepOf<'create-snapshot'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  if (!(await snapshotExists(virsh, step.domain, step.name))) {
    // libvirt creates the overlays as root through whatever stands at their paths: nothing may (see new-files.ts).
    await checkOverlaysFree(step.overlays, step.memoryFile ?? null, undefined, ctx.files);
    await virsh.run(argsFor(step, 'virsh')).catch((error: unknown) => {
      throw explainMemoryFailure(error, step.domain);
    });
  }
  let firstBacking: string | null = null;
  for (const file of Object.values(step.overlays)) {
    // libvirt made these files; a link found in their place is refused, never followed (secureOverlay).
    if ((await ctx.files.lstat(file)).isSymbolicLink()) throw new AppError('E_CHANGED', `${file} is a symbolic link, not the overlay libvirt made.`, { path: file });
    const name = (await readHeaderOn(ctx.files, file, true))?.backingName ?? null;
    const backing = name === null ? null : resolveBackingName(file, name);
    if (backing !== null) await secureOverlay(file, backing, ctx.files);
    firstBacking ??= backing;
  }
  // The saved memory is the guest's RAM: owned and kept private as the disks' new files are.
  if (step.memoryFile && firstBacking !== null) {
    if (!(await isMemoryFile(step.memoryFile, ctx.files))) throw new AppError('E_CHANGED', `${step.memoryFile} is not the memory file libvirt wrote.`, { path: step.memoryFile });
    await secureOverlay(step.memoryFile, firstBacking, ctx.files);
  }
}

/** The records with each memory file an earlier step of the operation saved (none recorded yet) fingerprinted as it is. */
async function fingerprinted(records: BranchRecords, files: HostFiles): Promise<BranchRecords> {
  const branches = await Promise.all(
    records.branches.map(async (branch) => {
      if (branch.memory === undefined || branch.memoryFingerprint !== undefined) return branch;
      const fingerprint = await files.memoryFingerprint(branch.memory);
      return fingerprint === null ? branch : { ...branch, memoryFingerprint: fingerprint };
    }),
  );
  return { ...records, branches };
}

/** Defines the domain from its current definition with the step's disks and branch records. */
async function runDefine(step: StepOf<'define-domain'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  const xml = await virsh.run(['dumpxml', '--domain', step.domain, '--inactive', '--security-info']);
  // The format the plan recorded, never one read off the file (a guest writes a raw disk's first bytes). A journal
  // written before formats were recorded is run as its release ran it.
  const formatOf = async (target: string, file: string) => step.formats?.[target] ?? ((await readHeaderOn(ctx.files, file)) !== null ? 'qcow2' : 'raw');
  const disks = Object.fromEntries(await Promise.all(Object.entries(step.disks).map(async ([target, file]) => [target, { file, format: await formatOf(target, file) }] as const)));
  await withTempFile(editDomainXml(xml, disks, await fingerprinted(step.records, ctx.files)), (file) => virsh.run(argsFor(step, 'virsh', { xmlFile: file })));
}

/** Moves the file into this operation's trash folder beside it: looked at, never followed (a symlink moves as the link it is). */
async function runTrash(step: StepOf<'trash'>, ctx: StepContext): Promise<void> {
  const to = trashPathOf(step.path, ctx.operationId);
  const { files } = ctx;
  if (!(await lexists(files, step.path)) && (await lexists(files, to))) return;
  const folder = await ensureOperationFolder(dirname(step.path), ctx.operationId, files);
  await writeTrashManifest(folder, { operationId: ctx.operationId, domain: ctx.domain, op: ctx.op }, files);
  await checkMove(dirname(step.path), step.path, to, files);
  await files.rename(step.path, to);
}

/** Copies the file into this operation's trash folder, the way back from a repair. */
async function runKeepCopy(step: StepOf<'keep-copy'>, ctx: StepContext): Promise<void> {
  if (step.copy !== trashPathOf(step.path, ctx.operationId)) throw new AppError('E_BAD_INPUT', `${step.copy} is not this operation's trash place for ${step.path}.`);
  const { files } = ctx;
  const folder = await ensureOperationFolder(dirname(step.path), ctx.operationId, files);
  await writeTrashManifest(folder, { operationId: ctx.operationId, domain: ctx.domain, op: ctx.op }, files);
  // An earlier partial copy goes first (unlink removes a link, never its target): cp would write through
  // whatever stands at the destination, so checkMove then checks, right before cp, that nothing does.
  await files.unlink(step.copy).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
  await checkMove(dirname(step.path), step.path, step.copy, files);
  await copyFile(step, ctx);
}

/**
 * Repairs the image. Freeing leaks changes allocation tables only, never what the guest reads: the file keeps its
 * time of last write, which the health check compares with the birth of the files built on it.
 */
async function runRepair(step: StepOf<'repair'>, ctx: StepContext): Promise<void> {
  const { files } = ctx;
  const before = step.mode === 'leaks' ? await files.lstat(await files.realpath(step.path)) : null;
  await qemuImg(ctx, argsFor(step, 'qemu-img'));
  if (before !== null) await files.setTimes(step.path, before.atimeMs, before.mtimeMs);
}

/** Deletes libvirt's record of the snapshot; one already gone (a run before a crash) is done. */
async function runDeleteRecord(step: StepOf<'delete-snapshot-metadata'>, ctx: StepContext): Promise<void> {
  try {
    await needVirsh(ctx).run(argsFor(step, 'virsh'));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Redefines the snapshot's record with the step's paths, parent and description, keeping it current when it was. */
async function runRedefine(step: StepOf<'redefine-snapshot'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  const xml = await snapshotXml(virsh, step.domain, step.snapshot);
  const wasCurrent = (await currentSnapshot(virsh, step.domain)) === step.snapshot;
  const moved = editSnapshotXml(xml, step.replace, step.parent);
  // A description goes into the record as an escaped text node, never on virsh's command line (SECURITY.md).
  const edited = step.description === undefined ? moved : setSnapshotDescription(moved, step.description);
  // --current would clear the revert disks of the current snapshot, this very record: it stays current without it.
  await withTempFile(edited, (file) => virsh.run(argsFor(step, 'virsh', { xmlFile: file, current: wasCurrent && !hasRevertDisks(edited) })));
}

/** Makes the snapshot current; with `revertDisks`, by redefining its record with them (see the step in plan.ts). */
async function runSetCurrent(step: StepOf<'set-current-snapshot'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  if (step.revertDisks === undefined) {
    await virsh.run(argsFor(step, 'virsh'));
    return;
  }
  const xml = await snapshotXml(virsh, step.domain, step.snapshot);
  const alreadyCurrent = (await currentSnapshot(virsh, step.domain)) === step.snapshot;
  await withTempFile(setRevertDisks(xml, step.revertDisks), (file) => virsh.run(argsFor(step, 'virsh', { xmlFile: file, alreadyCurrent })));
}

/** How often a clean shutdown is looked at while the engine waits for it. */
const SHUTDOWN_POLL_MS = 250;

/** The domain's state in virsh's words (`running`, `shut off`, ...). */
export async function domainState(virsh: Virsh, domain: string): Promise<string> {
  return (await virsh.run(['domstate', '--domain', domain])).trim();
}

/**
 * Stops the domain unless it is shut off already (a run before a crash). A clean shutdown is waited for up to the
 * step's timeout, checking every SHUTDOWN_POLL_MS; one that does not come in time fails the step, and the guest is
 * left to finish shutting down or not: nothing else ran.
 */
async function runStop(step: StepOf<'stop-domain'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  if ((await domainState(virsh, step.domain)) === 'shut off') return;
  if (step.mode === 'save') return runSave(step, virsh, ctx.files);
  await virsh.run(argsFor(step, 'virsh'));
  const deadline = Date.now() + step.timeoutSeconds * 1000;
  for (;;) {
    if ((await domainState(virsh, step.domain)) === 'shut off') return;
    if (ctx.signal?.aborted === true) throw new AppError('E_CANCELLED', `Cancelled while ${step.domain} was shutting down.`);
    if (Date.now() >= deadline) {
      throw new AppError(
        'E_TOOL',
        `${step.domain} did not shut down within ${step.timeoutSeconds} s (its guest may ignore the request, or have no ACPI support; one that is only slow may still shut down later). Try again with a longer timeout, or power it off.`,
        { domain: step.domain, timeoutSeconds: step.timeoutSeconds },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_POLL_MS));
  }
}

/**
 * A failure to write a VM's memory in plain words where QEMU's are known to puzzle: once a paused VM's memory was
 * saved (a snapshot with memory), QEMU refuses to save it again until the VM has run.
 */
function explainMemoryFailure(error: unknown, domain: string): unknown {
  const said = error instanceof AppError ? `${error.message} ${String(error.details?.stderr ?? '')}` : '';
  if (!/paused due to previous migration/.test(said)) return error;
  return new AppError(
    'E_NOT_SUPPORTED',
    `QEMU will not save ${domain}'s memory again: it was saved while the VM was paused, and QEMU saves a paused VM's memory only once until the VM runs again. Resume it first (virsh resume), or stop it another way (power off).`,
    { domain, cause: said.trim() },
  );
}

/**
 * Saves the domain's memory to the step's file and stops it. libvirt writes the file as root through whatever
 * stands at the path: nothing may; the file is then kept private and owned as the disks' files are.
 */
async function runSave(step: StepOf<'stop-domain'>, virsh: Virsh, files: HostFiles): Promise<void> {
  const file = step.memoryFile;
  if (file === undefined) throw new AppError('E_INTERNAL', `The step saving ${step.domain}'s memory names no file.`);
  await checkOverlaysFree({}, file, 'the memory of the VM it stops', files);
  await virsh.run(argsFor(step, 'virsh')).catch((error: unknown) => {
    throw explainMemoryFailure(error, step.domain);
  });
  const disk = await firstDiskFile(virsh, step.domain);
  if (disk !== null && (await isMemoryFile(file, files))) await secureOverlay(file, disk, files);
}

/** The file of the domain's first disk in its persistent definition, or null when it has none. */
async function firstDiskFile(virsh: Virsh, domain: string): Promise<string | null> {
  const xml = await virsh.run(['dumpxml', '--domain', domain, '--inactive']);
  return domainDisksOf(parseDomainXml(xml)).find((d) => d.file !== null)?.file ?? null;
}

/**
 * Resumes the domain from the step's memory file with the definition it has now (the disks this operation gave
 * it), unless it runs already (a run before a crash). The memory file is only read.
 */
async function runRestore(step: StepOf<'restore-domain'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  if ((await domainState(virsh, step.domain)) !== 'shut off') return;
  if (!(await isMemoryFile(step.memoryFile, ctx.files))) throw new AppError('E_CHANGED', `${step.memoryFile} is not a memory file libvirt wrote.`, { path: step.memoryFile });
  const xml = await virsh.run(['dumpxml', '--domain', step.domain, '--inactive', '--security-info']);
  await withTempFile(xml, (file) => virsh.run(argsFor(step, 'virsh', { xmlFile: file })));
}

/** Starts the domain unless it runs already (a run before a crash). */
async function runStart(step: StepOf<'start-domain'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  if ((await domainState(virsh, step.domain)) !== 'shut off') return;
  await virsh.run(argsFor(step, 'virsh'));
}

/**
 * Writes a clone's or an export's new file `target`, a copy of `source`, whole or not at all and over nothing
 * (clone-files.ts): `write` fills the operation's temporary file, which is then synced, made private and given
 * the source's owner, and linked into place. Run again, it takes up where it stopped: a file linked but still
 * holding its temporary name is done, as is a target `isOurs` knows once that name is gone (and no temporary file
 * of a later run stands beside it); a half-written temporary file goes and is written again.
 */
async function writeWhole(target: string, source: string, isOurs: () => Promise<boolean>, write: (part: string) => Promise<unknown>, ctx: StepContext): Promise<void> {
  const { files } = ctx;
  const part = partFileOf(target, ctx.operationId);
  const owner = await ownerOfFile(source, files);
  const state = await partState(part, target, files);
  if (state === 'placed') return files.unlink(part);
  if (state === 'target') {
    if ((await lexists(files, part)) || !(await isOurs())) throw new AppError('E_NAME_TAKEN', `${target} already exists; nothing is written over it.`, { path: target });
    return;
  }
  await removePart(part, owner, files);
  await checkFolderThere(target, files);
  await makePart(part, files);
  await write(part);
  await files.datasync(part);
  await files.secure(part, owner);
  await placePart(part, target, files);
}

/** How often what qemu-img has written so far is made durable while it writes. */
const SYNC_EVERY_MS = 1000;

/**
 * Runs `write` while what it has written into `part` is made durable every second: the disk writes it back while the
 * copy goes on, and the sync before the file is named (writeWhole) finds little left to do.
 */
async function syncingWhile(part: string, files: HostFiles, write: () => Promise<unknown>): Promise<void> {
  let syncs: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    // One sync at a time; one that fails here is made again, and checked, before the file is named.
    syncs = syncs.then(() => files.datasync(part)).catch(() => undefined);
  }, SYNC_EVERY_MS);
  try {
    await write();
  } finally {
    clearInterval(timer);
    await syncs;
  }
}

/** Whether qemu-img failed because the file system of the file it opened takes no O_DIRECT (`-t none`). */
function isNoDirectIo(error: unknown): boolean {
  const stderr = error instanceof AppError && error.code === 'E_TOOL' ? error.details?.stderr : undefined;
  return typeof stderr === 'string' && /does not support O_DIRECT/.test(stderr);
}

/**
 * A standalone image of the source's whole guest view, by qemu-img (its progress reported, cancelled by the
 * signal), written past the page cache (step-command.ts). On a file system that takes no O_DIRECT (ramfs, tmpfs
 * before Linux 6.6, some FUSE ones) qemu-img refuses before it writes any data. The copy is then made through the
 * page cache, as a compressed one always is, and made durable every second as it goes.
 */
function runConvert(step: StepOf<'convert'>, ctx: StepContext): Promise<void> {
  const convert = async (part: string) => {
    if (writesPastCache(step)) {
      try {
        return await qemuImg(ctx, argsFor(step, 'qemu-img', { partFile: part }));
      } catch (error) {
        if (!isNoDirectIo(error)) throw error;
      }
    }
    await syncingWhile(part, ctx.files, () => qemuImg(ctx, argsFor(step, 'qemu-img', { partFile: part, buffered: true })));
  };
  return writeWhole(step.target, step.source, () => isConvertedTarget(step, ctx.files), convert, ctx);
}

/**
 * The clone's own copy of the UEFI variable store. A store libvirt has not made yet (the VM never booted) is not
 * copied: libvirt makes the clone's, at the path its definition names, from the template at its first start.
 */
async function runCopyNvram(step: StepOf<'copy-nvram'>, ctx: StepContext): Promise<void> {
  if ((await lstatOrNull(ctx.files, step.path)) === null) return;
  const copy = (part: string) => runChecked(ctx.files.runner, 'cp', argsFor(step, 'cp', { partFile: part }), ctx.signal ? { signal: ctx.signal } : {});
  return writeWhole(step.copy, step.path, () => isNvramCopy(step, ctx.files), copy, ctx);
}

function nameTaken(name: string): AppError {
  return new AppError('E_NAME_TAKEN', `A domain named ${name} exists already; choose another name for the clone.`, { domain: name });
}

/**
 * The domain of exactly this name, by its UUID, with the operation its clone record names (null: none): looked
 * up in the list, since virsh takes a name made of digits or shaped as a UUID for another domain's id or UUID.
 */
async function domainNamed(virsh: Virsh, name: string): Promise<{ uuid: string; operation: string | null } | null> {
  const lines = (await virsh.run(['list', '--all', '--uuid', '--name'])).split('\n');
  const uuid = lines.map((line) => line.match(/^(\S+) (.*)$/)).find((m) => m?.[2] === name)?.[1];
  if (uuid === undefined) return null;
  const xml = await virsh.run(['dumpxml', '--domain', uuid, '--inactive']);
  return { uuid, operation: cloneRecordOf(parseDomainXml(xml))?.operation ?? null };
}

/**
 * Defines the clone from the source's persistent definition (xml-edit.ts, cloneDomainXml), unless a domain of its
 * name exists: done when its clone record names this operation (a run before a crash), refused otherwise.
 */
async function runDefineClone(step: StepOf<'define-clone'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  const existing = await domainNamed(virsh, step.name);
  if (existing !== null) {
    if (existing.operation === ctx.operationId) return;
    throw nameTaken(step.name);
  }
  const formatOf = (target: string) => {
    const format = step.formats[target];
    if (format === undefined) throw new AppError('E_INTERNAL', `The clone's disk ${target} has no format recorded.`);
    return format;
  };
  const disks = Object.fromEntries(Object.entries(step.disks).map(([target, file]) => [target, { file, format: formatOf(target) }] as const));
  const xml = await virsh.run(['dumpxml', '--domain', step.source, '--inactive', '--security-info']);
  const edited = cloneDomainXml(xml, { name: step.name, disks, nvram: step.nvram, record: { domain: step.source, node: step.node, operation: ctx.operationId } });
  // The clone's new log files: libvirt makes them as root at its start, through a link another user could plant.
  for (const file of outputFilesOf(edited)) await checkTrustedFolder(dirname(file), 'target', ctx.files);
  await withTempFile(edited, (file) => virsh.run(argsFor(step, 'virsh', { xmlFile: file })));
}

/** How each kind of step runs; every runner is idempotent (see the module comment). */
const RUNNERS: { [K in StepKind]: (step: StepOf<K>, ctx: StepContext) => Promise<void> } = {
  'create-snapshot': runCreateSnapshot,
  // Never through or over what stands at the path; an earlier run's file is taken up (see new-files.ts).
  'create-overlay': (step, ctx) => createOverlayFile(step.path, step.backing, step.backingFormat, ctx.files),
  'define-domain': runDefine,
  'set-current-snapshot': runSetCurrent,
  'stop-domain': runStop,
  'start-domain': runStart,
  'restore-domain': runRestore,
  rebase: (step, ctx) => qemuImg(ctx, argsFor(step, 'qemu-img')),
  commit: (step, ctx) => qemuImg(ctx, argsFor(step, 'qemu-img')),
  'block-commit': (step, ctx) => runBlockJob(step, argsFor(step, 'virsh'), needVirsh(ctx), ctx),
  'block-pull': (step, ctx) => runBlockJob(step, argsFor(step, 'virsh'), needVirsh(ctx), ctx),
  trash: runTrash,
  'keep-copy': runKeepCopy,
  repair: runRepair,
  'delete-snapshot-metadata': runDeleteRecord,
  'redefine-snapshot': runRedefine,
  convert: runConvert,
  'copy-nvram': runCopyNvram,
  'define-clone': runDefineClone,
};

/** Runs the runner of step kind `kind`; `K` ties the runner to its own step. */
function runKind<K extends StepKind>(kind: K, step: StepOf<K>, ctx: StepContext): Promise<void> {
  const run: (step: StepOf<K>, ctx: StepContext) => Promise<void> = RUNNERS[kind];
  return run(step, ctx);
}

/** Runs one step; safe to run again after a crash. Any failure, even one found before a tool starts, is a rejection. */
export async function runStep(step: Step, ctx: StepContext): Promise<void> {
  await runKind(step.kind, step, ctx);
}

function unknownStep(step: never): never {
  throw new AppError('E_INTERNAL', `Unknown step ${JSON.stringify(step)}.`);
}

/** Moves a file the step put in the operation's trash back, unless something took its place meanwhile. */
async function untrash(step: StepOf<'trash'>, ctx: StepContext): Promise<void> {
  const { files } = ctx;
  const from = trashPathOf(step.path, ctx.operationId);
  if ((await lexists(files, from)) && !(await lexists(files, step.path))) {
    await checkOperationFolder(dirname(step.path), ctx.operationId, files);
    await checkMove(dirname(step.path), from, step.path, files);
    await files.rename(from, step.path);
  }
}

/** Removes a snapshot the step took: its metadata, the definition it changed, and the overlays libvirt made. */
async function uncreateSnapshot(step: StepOf<'create-snapshot'>, undo: UndoData | undefined, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  if (await snapshotExists(virsh, step.domain, step.name)) {
    await virsh.run(['snapshot-delete', '--domain', step.domain, '--snapshotname', step.name, '--metadata']);
  }
  if (undo?.kind === 'previous-xml') await withTempFile(undo.xml, (file) => virsh.run(['define', '--file', file]));
  // Only what libvirt makes: a qcow2 file of one name building on another. A link, or a file that is no
  // overlay, is not libvirt's and is left alone.
  for (const file of Object.values(step.overlays)) if (await isOverlayFile(file, ctx.files)) await ctx.files.unlink(file);
  if (step.memoryFile && (await isMemoryFile(step.memoryFile, ctx.files))) await ctx.files.unlink(step.memoryFile);
}

/** Resumes a domain from the memory the operation saved, unless it runs already, and removes that file. */
async function unsave(domain: string, memoryFile: string, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  if (!(await isMemoryFile(memoryFile, ctx.files))) return;
  if ((await domainState(virsh, domain)) === 'shut off') await virsh.run(['restore', '--file', memoryFile]);
  await ctx.files.unlink(memoryFile);
}

/**
 * Removes what a convert or copy-nvram step made and nothing else: its temporary file, and the target while it is
 * the temporary file's second name, or, that name gone, while `isOurs` recognizes it (clone-files.ts).
 */
async function unplace(target: string, source: string, isOurs: () => Promise<boolean>, ctx: StepContext): Promise<void> {
  const { files } = ctx;
  const part = partFileOf(target, ctx.operationId);
  const state = await partState(part, target, files);
  if (state === 'placed' || (state === 'target' && !(await lexists(files, part)) && (await isOurs()))) await files.unlink(target);
  await removePart(part, await ownerOfFile(source, files).catch(() => null), files);
}

/** Undefines the clone, only while its record names this operation; a running one is powered off first. */
async function undefineClone(step: StepOf<'define-clone'>, ctx: StepContext): Promise<void> {
  const virsh = needVirsh(ctx);
  const found = await domainNamed(virsh, step.name);
  if (found === null || found.operation !== ctx.operationId) return;
  if ((await domainState(virsh, found.uuid)) !== 'shut off') await virsh.run(['destroy', '--domain', found.uuid]);
  // The variable store stays: it goes with the copy-nvram step's undo, only while it is that step's copy.
  await virsh.run(['undefine', '--domain', found.uuid, '--keep-nvram']);
}

/** Undoes a step that ran (or may have run), from the data captured before it. */
export async function undoStep(step: Step, undo: UndoData | undefined, ctx: StepContext): Promise<void> {
  switch (step.kind) {
    case 'create-overlay':
      // Only the file this step made, and only while it still builds on what the step gave it.
      await removeOverlayFile(step.path, step.backing, ctx.files);
      return;
    case 'define-domain':
      if (undo?.kind === 'previous-xml') await withTempFile(undo.xml, (file) => needVirsh(ctx).run(['define', '--file', file]));
      return;
    case 'set-current-snapshot': {
      const virsh = needVirsh(ctx);
      if (undo?.kind === 'previous-current-xml') {
        // The record as it was (its revert disks). Redefined without --current: that flag clears the revert disks of
        // the current snapshot, which may be this record; the snapshot that was current is made so again below.
        await withTempFile(undo.xml, (file) => virsh.run(['snapshot-create', '--domain', step.domain, '--xmlfile', file, '--redefine']));
      }
      const previous = undo?.kind === 'previous-current' || undo?.kind === 'previous-current-xml' ? undo.snapshot : null;
      if (undo?.kind === 'previous-current-xml' && undo.currentXml !== null && previous !== null) {
        // Current again with the revert disks it had (not current now, so --current keeps them).
        await withTempFile(undo.currentXml, (file) => virsh.run(['snapshot-create', '--domain', step.domain, '--xmlfile', file, '--redefine', '--current']));
      } else if (previous !== null && (await currentSnapshot(virsh, step.domain)) !== previous) {
        await virsh.run(['snapshot-current', '--domain', step.domain, '--snapshotname', previous]);
      }
      return;
    }
    case 'stop-domain':
      // Memory saved by the step resumes the VM as it was, and the file goes; a VM stopped otherwise stays shut off
      // (its memory is gone), and the operation's error says so.
      if (step.mode === 'save' && step.memoryFile !== undefined) await unsave(step.domain, step.memoryFile, ctx);
      return;
    case 'restore-domain':
    case 'start-domain':
      // Powered off again before the disks go back to what they were.
      if ((await domainState(needVirsh(ctx), step.domain)) !== 'shut off') await needVirsh(ctx).run(['destroy', '--domain', step.domain]);
      return;
    case 'rebase':
      if (undo?.kind === 'previous-backing' && undo.backing !== null && undo.format !== null) {
        // The same rebase back: the header alone, to the backing the file had.
        await qemuImg(ctx, argsFor({ ...step, backing: undo.backing, backingFormat: undo.format, unsafe: true }, 'qemu-img'));
      }
      return;
    case 'trash':
      return untrash(step, ctx);
    case 'delete-snapshot-metadata':
    case 'redefine-snapshot':
      if (undo?.kind === 'previous-xml') {
        const virsh = needVirsh(ctx);
        // A record that is current already stays so; --current would clear its revert disks (see runRedefine).
        const current = undo.current && !(hasRevertDisks(undo.xml) && (await currentSnapshot(virsh, step.domain)) === step.snapshot);
        await withTempFile(undo.xml, (file) => virsh.run(['snapshot-create', '--domain', step.domain, '--xmlfile', file, '--redefine', ...(current ? ['--current'] : [])]));
      }
      return;
    case 'create-snapshot':
      return uncreateSnapshot(step, undo, ctx);
    case 'keep-copy':
      if (step.copy !== trashPathOf(step.path, ctx.operationId)) throw new AppError('E_BAD_INPUT', `${step.copy} is not this operation's trash place for ${step.path}.`);
      if (await lexists(ctx.files, step.copy)) {
        await checkOperationFolder(dirname(step.path), ctx.operationId, ctx.files);
        await ctx.files.unlink(step.copy);
      }
      return;
    case 'commit':
    case 'block-commit':
      throw new AppError('E_NOT_SUPPORTED', 'A commit cannot be undone; recovery finishes the operation instead.');
    case 'block-pull':
      // A job still running is aborted; one that ended left the active layer holding a copy of what it read through
      // the layers below it (every read is as before), and its data is made durable. The layers it no longer builds
      // on come back from the trash with the steps after it.
      return undoBlockPull(step, needVirsh(ctx), ctx.files);
    case 'repair':
      throw new AppError('E_NOT_SUPPORTED', 'A repair cannot be undone; recovery finishes the operation instead, and the copy in the trash is the way back.');
    case 'convert':
      return unplace(step.target, step.source, () => isConvertedTarget(step, ctx.files), ctx);
    case 'copy-nvram':
      return unplace(step.copy, step.path, () => isNvramCopy(step, ctx.files), ctx);
    case 'define-clone':
      return undefineClone(step, ctx);
    default:
      return unknownStep(step);
  }
}
