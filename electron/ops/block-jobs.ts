/**
 * Block jobs on a running domain's disk (docs/safety.md, "Running domains"): QEMU commits or pulls layers while
 * the VM runs, and the engine follows the job to its end. A job is started without virsh's `--wait`, so that it
 * outlives the engine: the runner looks at the disk first, and follows a job that runs already (one it started
 * before a crash) instead of starting another. It reports the job's own progress, pivots an active commit once
 * QEMU says it is ready, aborts the job on cancel, and checks, from the live definition, that the disk's chain is
 * the one the step was to leave.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../shared/errors';
import type { Step } from '../../shared/ops/plan';
import { basename } from '../../shared/paths';
import { domainDisksOf, parseDomainXml } from '../scan/libvirt-xml';
import type { Virsh } from '../tools/virsh';
import type { HostFiles } from './host-files';

export type BlockJobStep = Extract<Step, { kind: 'block-commit' | 'block-pull' }>;

/** How often a running job is looked at. */
const POLL_MS = 100;

/** How many looks a job that is gone gets for the chain to show it done before the step fails. */
const SETTLE_POLLS = 10;

/** A job as `virsh blockjob --info --raw` reports it: its type in words, and how far it is (`cur` of `end`). */
export interface JobInfo {
  type: string;
  cur: number;
  end: number;
}

/** Reads `virsh blockjob --info --raw`; null when the disk has no job (virsh then prints nothing). */
export function parseJobInfo(stdout: string): JobInfo | null {
  const field = (name: string) => new RegExp(`^\\s*${name}=(.*)$`, 'm').exec(stdout)?.[1]?.trim();
  const type = field('type');
  const cur = Number(field('cur'));
  const end = Number(field('end'));
  if (type === undefined || !Number.isFinite(cur) || !Number.isFinite(end)) return null;
  return { type, cur, end };
}

/** The type words libvirt gives the job a step starts. */
function jobType(step: BlockJobStep): string {
  if (step.kind === 'block-pull') return 'Block Pull';
  return step.active ? 'Active Block Commit' : 'Block Commit';
}

async function jobInfo(virsh: Virsh, step: BlockJobStep): Promise<JobInfo | null> {
  return parseJobInfo(await virsh.run(['blockjob', '--domain', step.domain, '--path', step.target, '--info', '--raw']));
}

/** A path as the plan names it (canonical), or as it is when it no longer resolves. */
const canonical = (files: HostFiles, path: string) => files.realpath(path).catch(() => path);

/** The disk as the live definition has it: its chain, active layer first, and the file an active job mirrors into; each path canonical. */
async function liveDisk(virsh: Virsh, step: BlockJobStep, files: HostFiles): Promise<{ chain: string[]; mirror: string | null }> {
  const xml = await virsh.run(['dumpxml', '--domain', step.domain]);
  const disk = domainDisksOf(parseDomainXml(xml)).find((d) => d.target === step.target);
  if (disk?.file === null || disk?.file === undefined) throw new AppError('E_CHANGED', `${step.domain} has no file disk ${step.target} any more.`, { target: step.target });
  const chain = await Promise.all([disk.file, ...(disk.backingStore ?? [])].map((path) => canonical(files, path)));
  return { chain, mirror: disk.mirror == null ? null : await canonical(files, disk.mirror) };
}

/**
 * Whether the chain is the one the step leaves: a pull's top builds on `base` right below it; a commit's top is
 * gone from the chain, and `base` is the disk's active layer (an active commit) or lies below it.
 */
export function jobDone(step: BlockJobStep, chain: readonly string[]): boolean {
  if (step.kind === 'block-pull') return chain[0] === step.top && chain[1] === step.base;
  const at = chain.indexOf(step.base);
  if (at === -1 || chain.includes(step.top)) return false;
  return step.active ? at === 0 : at > 0;
}

/** Why the step cannot start on this chain (it must hold `top` above `base`, `top` on top for a pull or an active commit); null when it can. */
export function cannotStart(step: BlockJobStep, chain: readonly string[]): string | null {
  const top = chain.indexOf(step.top);
  const base = chain.indexOf(step.base);
  if (top === -1 || base === -1 || base <= top) return `${basename(step.top)} no longer lies above ${basename(step.base)} in the chain of ${step.target}`;
  if ((step.kind === 'block-pull' || step.active) && top !== 0) return `${basename(step.top)} is no longer the active layer of ${step.target}`;
  if (step.kind === 'block-commit' && !step.active && top === 0) return `${basename(step.top)} has become the active layer of ${step.target}`;
  return null;
}

/** Aborts the job and waits until QEMU has let it go; the disk stays on the chain it had. */
async function abortJob(virsh: Virsh, step: BlockJobStep): Promise<void> {
  await virsh.run(['blockjob', '--domain', step.domain, '--path', step.target, '--abort']).catch(() => undefined);
  while ((await jobInfo(virsh, step)) !== null) await sleep(POLL_MS);
}

/** A tool's error message with what it printed on stderr. */
const toolSaid = (error: unknown) => (error instanceof AppError ? `${error.message} ${String(error.details?.stderr ?? '')}` : String(error));

/**
 * QEMU rewrites a pulled layer's header (its new backing) before it writes the tables of the data it copied in:
 * until QEMU flushes, the file on disk names its new backing where that data was, and a crash of QEMU or of the
 * host would lose it. Pausing a running VM flushes every disk (QEMU stops its VM that way), so the VM is paused for
 * that moment and resumed; the data QEMU wrote is put on disk first, while the VM runs, so that the pause is short.
 * A paused VM is refused a pull at plan time.
 */
async function flushPulled(virsh: Virsh, step: BlockJobStep, files: HostFiles): Promise<void> {
  await files.datasync(step.top);
  if ((await virsh.run(['domstate', '--domain', step.domain])).trim() !== 'running') return;
  await virsh.run(['suspend', '--domain', step.domain]);
  await virsh.run(['resume', '--domain', step.domain]);
}

/**
 * Refuses, before the step is journaled as started, a disk that runs a block job (none the engine started: a
 * step that started one is run again, not checked) or whose chain is no longer the one the plan saw.
 */
export async function checkBlockJobStart(step: BlockJobStep, virsh: Virsh, files: HostFiles): Promise<void> {
  const job = await jobInfo(virsh, step);
  if (job !== null) throw anotherJob(step, job);
  const why = cannotStart(step, (await liveDisk(virsh, step, files)).chain);
  if (why !== null) throw chainChanged(step, why);
}

const chainChanged = (step: BlockJobStep, why: string) => new AppError('E_CHANGED', `${why}: the disk changed since the plan was made.`, { target: step.target });

const anotherJob = (step: BlockJobStep, job: JobInfo) =>
  new AppError('E_CHANGED', `Another block job (${job.type}) runs on ${step.target} of ${step.domain}; wait for it to end, then try again.`, { target: step.target, job: job.type });

/**
 * Undoes a pull that may have run: a pull still running is aborted (the disk stays on its chain); one that ended
 * left every read as it was, and its data is made durable as when the step finishes.
 */
export async function undoBlockPull(step: Extract<BlockJobStep, { kind: 'block-pull' }>, virsh: Virsh, files: HostFiles): Promise<void> {
  const job = await jobInfo(virsh, step);
  if (job !== null && job.type === jobType(step)) await abortJob(virsh, step);
  if (jobDone(step, (await liveDisk(virsh, step, files)).chain)) await flushPulled(virsh, step, files);
}

/**
 * The error of a start command that failed: marked `notStarted` when QEMU provably took no job and the chain is
 * as it was, so that the executor counts the step as never run (and an operation can be undone, not finished).
 */
async function unlessStarted(step: BlockJobStep, virsh: Virsh, error: unknown, files: HostFiles): Promise<unknown> {
  const job = await jobInfo(virsh, step).catch(() => undefined);
  const chain = await liveDisk(virsh, step, files).then((d) => d.chain, () => null);
  if (job !== null || chain === null || cannotStart(step, chain) !== null || !(error instanceof AppError)) return error;
  const said = toolSaid(error);
  if (/Block node is read-only/.test(said)) {
    // Seen on a VM paused when its memory was saved (a snapshot with memory): QEMU hands its disks over until it runs.
    return new AppError(
      'E_NOT_SUPPORTED',
      `QEMU keeps ${step.domain}'s disks read-only: its memory was saved while it was paused, and QEMU writes its disks again only once it runs. Resume it (virsh resume), or shut it down first.`,
      { target: step.target, cause: said.trim(), notStarted: true },
    );
  }
  return new AppError(error.code, error.message, { ...(error.details ?? {}), notStarted: true });
}

/** What the runner is told by its step context. */
export interface JobContext {
  /** The files of the host the domain runs on. */
  files: HostFiles;
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
  /** Called once QEMU has taken the job (the crash tests kill the engine there, mid-job). */
  onJobStarted?: () => void;
}

/**
 * Runs the step's block job (started by the virsh command `start`) to its end, or follows the one that runs
 * already (see the module comment). A job of another kind on the disk is never touched: the step fails and says so.
 */
export async function runBlockJob(step: BlockJobStep, start: readonly string[], virsh: Virsh, ctx: JobContext): Promise<void> {
  const { files } = ctx;
  let started = false;
  let settling = 0;
  for (;;) {
    // The job first: once it is gone, the chain read after it is the one it left.
    const job = await jobInfo(virsh, step);
    const { chain, mirror } = await liveDisk(virsh, step, files);
    if (job === null && jobDone(step, chain)) {
      if (step.kind === 'block-pull') await flushPulled(virsh, step, files);
      return;
    }
    // Only the step's own job is followed: of its kind, and an active commit into the step's base.
    if (job !== null && (job.type !== jobType(step) || (step.kind === 'block-commit' && step.active && mirror !== step.base))) throw anotherJob(step, job);
    if (job !== null) {
      started = true;
      if (job.end > 0) ctx.onProgress?.(Math.min(100, Math.floor((job.cur * 100) / job.end)));
    }
    if (ctx.signal?.aborted === true) {
      if (job !== null) await abortJob(virsh, step);
      // The job may have ended before it could be stopped: then the step is done, and the operation stops after it.
      if (job !== null && jobDone(step, (await liveDisk(virsh, step, files)).chain)) continue;
      const kept = step.kind === 'block-pull' ? ` (${basename(step.top)} keeps what was copied so far: the same data it read before)` : '';
      throw new AppError('E_CANCELLED', `Cancelled: the block job on ${step.target} was stopped, and ${step.domain} goes on with the files it had${kept}.`);
    }
    if (job === null) {
      if (started && settling < SETTLE_POLLS) {
        // libvirt may drop the job a moment before its definition shows what the job left.
        settling++;
        await sleep(POLL_MS);
        continue;
      }
      if (started) {
        throw new AppError('E_TOOL', `The block job on ${step.target} of ${step.domain} ended before it finished (QEMU stopped it); the disk stays on the files it had.`, { target: step.target });
      }
      const why = cannotStart(step, chain);
      if (why !== null) throw chainChanged(step, why);
      await virsh.run(start).catch(async (error: unknown) => {
        throw await unlessStarted(step, virsh, error, files);
      });
      started = true;
      ctx.onJobStarted?.();
      continue;
    }
    // libvirt reports cur = end for a job that waits to be pivoted only once QEMU says it is ready.
    if (step.kind === 'block-commit' && step.active && job.end > 0 && job.cur === job.end) {
      await virsh.run(['blockjob', '--domain', step.domain, '--path', step.target, '--pivot']).catch((error: unknown) => {
        // Asked a moment early: the job goes on, and is looked at again.
        if (!/not ready/i.test(toolSaid(error))) throw error;
      });
      continue;
    }
    await sleep(POLL_MS);
  }
}
