/**
 * The executor: re-checks a confirmed plan against a fresh scan, takes the domain's lock, journals before and
 * after every step, stops at the first failure and puts the world back (or, past a commit, finishes the
 * operation), and rescans the domain. Recovery does the same for journals a crash left behind.
 *
 * The lock is checked before every step, so an operation whose lock was lost stops and undoes what ran. An
 * error says "Nothing was changed" only where the engine checked it (see `stopAfterFailure`).
 */
import { AppError, toErrorData } from '../../shared/errors';
import type { Domain, ScanResult } from '../../shared/model';
import type { Plan, Step } from '../../shared/ops/plan';
import type { ExecuteResult, ProgressEvent, RecoveryReport } from '../../shared/ops/results';
import { planOperation } from '../../shared/ops/planners';
import type { Virsh } from '../tools/virsh';
import { modifiedTimes, recordOwnWrites } from '../inspect/acks';
import { checkFreeSpace, checkWritable } from './free-space';
import { createJournal, isUnfinished, readJournalFolder, readJournals, writeJournal, type JournalEntry } from './journal';
import { localHostFiles, type HostFiles } from './host-files';
import { lockOperation, type DomainLock } from './lock';
import { checkJournalTrust, checkPlanTrust } from './plan-trust';
import { captureUndo, checkBeforeStep, domainState, runStep, undoStep, type StepContext } from './steps';

/** What the executor needs from the engine: the connection, scans, and the caller's progress and cancel. */
export interface ExecuteDeps {
  virsh: Virsh | null;
  /** The files of the host the plan's domain runs on: this computer's unless given. */
  files?: HostFiles;
  /** A fresh scan of the plan's whole source (dependants span every domain). */
  scan: () => Promise<ScanResult>;
  /** Rescans the one domain the operation changed. */
  rescan: (domain: string) => Promise<Domain | null>;
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

/**
 * Test hook for the crash tests (docs/safety.md, rule 5): SNAPTREE_CRASH_AT="N:started" kills the process with SIGKILL
 * once step N is journaled as started, "N:ran" once it ran but before that is journaled, "N:done" once it is journaled
 * as done, "N:job" once the block job step N started runs in QEMU.
 */
function crashPoint(index: number, phase: 'started' | 'job' | 'ran' | 'done'): void {
  if (process.env.SNAPTREE_CRASH_AT === `${index}:${phase}`) process.kill(process.pid, 'SIGKILL');
}

/** A plan's steps without their sentences, to compare a confirmed plan with a fresh one. */
const stepsOf = (plan: Plan) => JSON.stringify(plan.steps.map(({ sentence: _sentence, ...step }) => step));

/** Stopping and starting the domain are not what a fresh plan after a rollback is compared on: a stop is never undone. */
const filesStepsOf = (plan: Plan) => stepsOf({ ...plan, steps: plan.steps.filter((s) => s.kind !== 'stop-domain' && s.kind !== 'start-domain') });

/**
 * How the operation stopped its domain before it failed, asked before the rollback: `save` is undone by resuming
 * the VM from its memory; any other stop is not undone (the memory is gone). Null when it stopped nothing.
 */
function stoppedIn(entry: JournalEntry): 'save' | 'other' | null {
  const index = entry.plan.steps.findIndex((s, i) => s.kind === 'stop-domain' && entry.steps[i]?.state === 'done');
  const step = entry.plan.steps[index];
  if (step?.kind !== 'stop-domain') return null;
  return step.mode === 'save' ? 'save' : 'other';
}

/**
 * The domain that has come up on the operation's disks, or null: a start or a restore began and its domain (the
 * operation's, or the clone it made) is not shut off. From then on the VM may have written to those disks, and resumed from a
 * memory file the operation used up: undoing would power it off, drop its new files and record that memory file
 * again. The operation is finished.
 */
async function runsOnNewDisks(entry: JournalEntry, ctx: StepContext): Promise<string | null> {
  const began = entry.plan.steps.filter((s, i) => (s.kind === 'start-domain' || s.kind === 'restore-domain') && entry.steps[i]?.state !== 'pending');
  const virsh = ctx.virsh;
  if (virsh === null) return null;
  for (const step of began) {
    const domain = step.kind === 'start-domain' || step.kind === 'restore-domain' ? step.domain : ctx.domain;
    if ((await domainState(virsh, domain).catch(() => 'unknown')) !== 'shut off') return domain;
  }
  return null;
}

function domainOf(plan: Plan): string {
  return plan.intent.domain;
}

function uriOf(plan: Plan): string | null {
  return plan.source.kind === 'libvirt' ? plan.source.uri : null;
}

async function save(entry: JournalEntry): Promise<void> {
  await writeJournal(entry);
}

/** Undoes the steps that ran, newest first. */
async function rollBack(entry: JournalEntry, ctx: StepContext): Promise<void> {
  for (let i = entry.steps.length - 1; i >= 0; i--) {
    const record = entry.steps[i];
    const step = entry.plan.steps[i];
    if (record === undefined || step === undefined || (record.state !== 'started' && record.state !== 'done')) continue;
    await undoStep(step, record.undo, ctx);
    record.state = 'undone';
    await save(entry);
  }
  entry.status = 'rolled-back';
  await save(entry);
}

/**
 * Runs the steps not yet done, in order. Every runner is idempotent, so a half-run step simply runs again.
 * The lock is checked right before each step: an operation whose lock was lost stops there.
 */
async function rollForward(entry: JournalEntry, ctx: StepContext, lock: DomainLock, onStep?: (index: number) => void): Promise<void> {
  for (let i = 0; i < entry.plan.steps.length; i++) {
    const record = entry.steps[i] as JournalEntry['steps'][number];
    const step = entry.plan.steps[i] as Step;
    if (record.state === 'done') continue;
    if (ctx.signal?.aborted) throw new AppError('E_CANCELLED', 'The operation was cancelled.');
    onStep?.(i);
    await lock.check();
    if (record.state === 'pending') await checkBeforeStep(step, ctx);
    if (record.undo === undefined) record.undo = await captureUndo(step, ctx);
    record.state = 'started';
    await save(entry);
    crashPoint(i, 'started');
    await runStep(step, { ...ctx, onJobStarted: () => crashPoint(i, 'job') }).catch(async (error: unknown) => {
      // A step that provably did nothing (a block job QEMU refused to start) is journaled as never started.
      if (error instanceof AppError && error.details?.notStarted === true) {
        record.state = 'pending';
        await save(entry);
      }
      throw error;
    });
    crashPoint(i, 'ran');
    record.state = 'done';
    await save(entry);
    crashPoint(i, 'done');
  }
}

/**
 * Records what a finished operation wrote, for the health check (electron/inspect/acks.ts): the operation is done
 * whatever becomes of the record, so a failure to write it is not the operation's.
 */
async function noteOwnWrites(files: HostFiles, entry: JournalEntry, before?: Record<string, number>): Promise<void> {
  await recordOwnWrites(files, entry.id, entry.plan.intent.op, entry.plan.impact.written, before).catch(() => undefined);
}

/** Whether an interrupted operation must be finished rather than undone: a step past the point of no return ran. */
function pastNoReturn(entry: JournalEntry): boolean {
  const point = entry.plan.pointOfNoReturn;
  return point !== null && entry.steps.slice(point).some((s) => s.state === 'started' || s.state === 'done');
}

/** Steps as people count them: "step 2", "steps 1, 2 and 4", "no step". */
function numbers(indexes: number[]): string {
  const n = indexes.map((i) => String(i + 1));
  if (n.length <= 1) return n[0] === undefined ? 'no step' : `step ${n[0]}`;
  return `steps ${n.slice(0, -1).join(', ')} and ${n.at(-1) ?? ''}`;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** A tool's message as a sentence: ending with a full stop unless it ends with one already. */
const ended = (text: string) => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

/**
 * After a failed step: finishes nothing, undoes what ran, and builds the error to report. It keeps the original
 * error's code and text and adds only what the engine knows: "Nothing was changed" is said only when no step
 * ran, or when every step that ran was undone and `unchanged` (a fresh plan on a fresh scan equal to the
 * confirmed one) confirms the world is as before for everything the plan touches.
 */
async function stopAfterFailure(entry: JournalEntry, ctx: StepContext, cause: unknown, unchanged: () => Promise<boolean>): Promise<AppError> {
  const error = toErrorData(cause);
  entry.error = error;
  const { domain, operationId } = ctx;
  const details = { ...(error.details ?? {}), operationId };
  const said = (text: string, extra: Record<string, unknown> = {}) => new AppError(error.code, `${ended(error.message)} ${text}`, { ...details, ...extra });
  const running = await runsOnNewDisks(entry, ctx);
  if (pastNoReturn(entry) || running !== null) {
    // A commit ran, or the VM runs on the new disks: the operation can only be finished. Recovery retries it.
    entry.status = 'failed';
    await save(entry);
    const why = running !== null ? `${running} already runs on its new disks` : 'The operation stopped after a commit, which cannot be undone';
    return said(`${why}; finish it with "virt-snaptree recover" (in the app: Finish or undo it).`, {
      ranSteps: entry.steps.filter((s) => s.state === 'done').length,
    });
  }
  const ran = entry.steps.flatMap((s, i) => (s.state === 'started' || s.state === 'done' ? [i] : []));
  const stopped = stoppedIn(entry);
  if (ran.length === 0) {
    entry.status = 'rolled-back';
    await save(entry);
    return said('Nothing was changed: no step ran.');
  }
  try {
    // A cancel stops the operation, never its way back: the undo runs without the cancelled signal.
    const { signal: _cancelled, ...undoCtx } = ctx;
    await rollBack(entry, undoCtx);
  } catch (undoError) {
    const undone = entry.steps.flatMap((s, i) => (s.state === 'undone' ? [i] : []));
    entry.status = 'failed';
    await save(entry).catch(() => undefined);
    return said(
      `Undoing it failed too: ${ended(toErrorData(undoError).message)} Ran: ${numbers(ran)}; undone: ${numbers(undone)}. ` +
        `Check ${domain} before using it, and run "virt-snaptree recover" to retry the undo.`,
      { ranSteps: ran.length, undoneSteps: undone.length },
    );
  }
  let verified = false;
  try {
    verified = await unchanged();
  } catch {
    // A scan that fails confirms nothing: the message below says so.
  }
  if (verified && stopped === 'save') return said(`${domain} was resumed from the memory saved at the start; nothing was changed: the steps that ran were undone, and a fresh scan confirms it.`);
  if (verified && stopped === 'other') return said(`${domain} was stopped and stays shut off; nothing else was changed: the other steps that ran were undone, and a fresh scan confirms it.`);
  if (verified) return said('Nothing was changed: the steps that ran were undone, and a fresh scan confirms it.');
  return said(
    `${capitalised(numbers(ran))} ran and ${ran.length === 1 ? 'was' : 'were'} undone, but a fresh scan does not show ${domain} as it was before the operation ` +
      `(something else may have changed it meanwhile). Check ${domain} before using it; the operation's journal is ${operationId}.`,
    { ranSteps: ran.length, undoneSteps: ran.length },
  );
}

/**
 * Refuses a new operation on a domain whose earlier operation did not finish (recovery failed, or has not run):
 * recovery finishes or undoes that one from its journal, on the world as that operation left it, so nothing else
 * may change the domain first.
 */
async function refuseWhileUnfinished(plan: Plan): Promise<void> {
  const sourceOf = (p: Plan) => JSON.stringify(p.source);
  const { entries } = await readJournalFolder();
  const open = entries.find((e) => isUnfinished(e) && domainOf(e.plan) === domainOf(plan) && sourceOf(e.plan) === sourceOf(plan));
  if (open === undefined) return;
  throw new AppError(
    'E_LOCKED',
    `An earlier ${open.plan.intent.op} on ${domainOf(plan)} did not finish (operation ${open.id}); run "virt-snaptree recover" to finish or undo it first. Nothing else runs on ${domainOf(plan)} until then.`,
    { operationId: open.id },
  );
}

/**
 * Runs a confirmed plan: takes the domain's lock, re-plans on a fresh scan (a different plan comes back as
 * `changed`, to confirm again), journals it under its id (refused when that id already has a journal), runs its
 * steps and, on a failure, undoes them and says what is known.
 */
export async function executePlan(plan: Plan, deps: ExecuteDeps): Promise<ExecuteResult> {
  const operationId = plan.id;
  const domain = domainOf(plan);
  const files = deps.files ?? localHostFiles;
  const lock = await lockOperation(files, uriOf(plan) ?? plan.source.kind, domain);
  try {
    await refuseWhileUnfinished(plan);
    // The world may have changed since the preview: plan again on a fresh scan and compare.
    const scan = await deps.scan();
    const fresh = planOperation({ scan, operationId }, plan.intent);
    if (!fresh.ok) throw new AppError(fresh.refusal.code, fresh.refusal.message, fresh.refusal.details);
    if (stepsOf(fresh.plan) !== stepsOf(plan)) return { status: 'changed', plan: fresh.plan };
    const confirmed = fresh.plan;
    // Refused whole, before the journal and any step, unless no other user can change the folders it acts in
    // or the files it opens and moves; what passes stays so for the whole operation (plan-trust.ts).
    await checkPlanTrust(confirmed, scan, files);
    // Refused whole too when its folders have too little room or a file it writes cannot be: a commit cut short
    // cannot be undone.
    await checkFreeSpace(confirmed, files);
    await checkWritable(confirmed, files);
    const entry: JournalEntry = {
      id: operationId,
      createdAt: new Date().toISOString(),
      uri: uriOf(confirmed),
      plan: confirmed,
      status: 'running',
      steps: confirmed.steps.map(() => ({ state: 'pending' })),
    };
    // Refused, before any step, when this id already has a journal: an operation never overwrites another's.
    await createJournal(entry);
    // How the files it writes were before it, so that the health check still sees a write by something else before.
    const before = await modifiedTimes(files, confirmed.impact.written).catch(() => ({}));
    let current = 0;
    const ctx: StepContext = {
      virsh: deps.virsh,
      files,
      operationId,
      domain,
      op: confirmed.intent.op,
      onProgress: (percent) =>
        deps.onProgress?.({ operationId, step: current, steps: confirmed.steps.length, sentence: confirmed.steps[current]?.sentence ?? '', percent }),
      ...(deps.signal ? { signal: deps.signal } : {}),
    };
    try {
      await rollForward(entry, ctx, lock, (i) => {
        current = i;
        deps.onProgress?.({ operationId, step: i, steps: confirmed.steps.length, sentence: confirmed.steps[i]?.sentence ?? '', percent: null });
      });
      entry.status = 'done';
      await save(entry);
      await noteOwnWrites(files, entry, before);
    } catch (error) {
      throw await stopAfterFailure(entry, ctx, error, async () => {
        const again = planOperation({ scan: await deps.scan(), operationId }, confirmed.intent);
        return again.ok && filesStepsOf(again.plan) === filesStepsOf(confirmed);
      });
    }
    return { status: 'done', operationId, domain: await deps.rescan(domain) };
  } finally {
    await lock.release();
  }
}

/**
 * Finishes or rolls back every interrupted operation whose connection `virshFor` can open. A journal file that
 * cannot be read is reported as failed and left as it is; the others are recovered all the same.
 */
export async function recoverAll(
  virshFor: (uri: string | null) => Virsh | null,
  only?: string,
  filesFor: (uri: string | null) => HostFiles = () => localHostFiles,
): Promise<RecoveryReport[]> {
  const { entries, problems } = await readJournalFolder();
  // Reported whatever `only` says: an unreadable journal's domain is unknown, and it may be that one's.
  const reports: RecoveryReport[] = problems.map((p) => ({ operationId: p.id, domain: '', outcome: 'failed', message: p.message, journal: p.file }));
  for (const seen of entries.filter(isUnfinished)) {
    const domain = domainOf(seen.plan);
    if (only !== undefined && domain !== only) continue;
    // A domain another operation holds is in use, not interrupted: its journal is left to that operation.
    let files: HostFiles;
    try {
      files = filesFor(seen.uri);
    } catch (error) {
      reports.push({ operationId: seen.id, domain, outcome: 'failed', message: `Could not recover ${seen.plan.intent.op} on ${domain}: ${toErrorData(error).message}` });
      continue;
    }
    const lock = await lockOperation(files, seen.uri ?? seen.plan.source.kind, domain).catch((error: unknown) => {
      if (error instanceof AppError && error.code === 'E_LOCKED') return null;
      throw error;
    });
    if (lock === null) continue;
    // Read again under the lock: the operation that held it a moment ago may have finished since.
    const entry = (await readJournals()).find((e) => e.id === seen.id);
    if (entry === undefined || !isUnfinished(entry)) {
      await lock.release();
      continue;
    }
    const ctx: StepContext = { virsh: virshFor(entry.uri), files, operationId: entry.id, domain, op: entry.plan.intent.op };
    try {
      // A folder or file that another user can change since the crash: refused and reported, nothing replayed.
      await checkJournalTrust(entry, files);
      if (pastNoReturn(entry) || (await runsOnNewDisks(entry, ctx)) !== null) {
        await rollForward(entry, ctx, lock);
        entry.status = 'finished-by-recovery';
        await save(entry);
        await noteOwnWrites(files, entry);
        reports.push({ operationId: entry.id, domain, outcome: 'finished', message: `Finished the interrupted ${entry.plan.intent.op} on ${domain}.` });
      } else {
        await rollBack(entry, ctx);
        reports.push({ operationId: entry.id, domain, outcome: 'rolled-back', message: `Rolled back the interrupted ${entry.plan.intent.op} on ${domain}.` });
      }
    } catch (error) {
      entry.error = toErrorData(error);
      entry.status = 'failed';
      await save(entry);
      reports.push({ operationId: entry.id, domain, outcome: 'failed', message: `Could not recover ${entry.plan.intent.op} on ${domain}: ${entry.error.message}` });
    } finally {
      await lock.release();
    }
  }
  return reports;
}
