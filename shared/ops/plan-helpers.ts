/**
 * What every planner shares: the context, refusals, the checks that open a domain or snapshot, and the steps
 * several operations use (define the domain, set the current snapshot, new overlays, trash).
 */
import { unknownLink } from '../assemble';
import type { Branch, Domain, Layer, ScanResult, Snapshot } from '../model';
import { basename, dirname } from '../paths';
import { branchNodeId, snapshotNodeId } from '../snapshot-graph';
import { unvouchedCheck } from './guard-unvouched';
import type { BranchRecords, Impact, Intent, PlanResult, Refusal, Step } from './plan';

export interface PlanContext {
  scan: ScanResult;
  /** Names this operation's trash folder and journal. */
  operationId: string;
}

/** Where the app moves files it "deletes": a folder beside them, so the move is a rename. */
export const TRASH_DIR = '.snaptree-trash';
/** A new overlay's metadata on disk, for space estimates. */
export const OVERLAY_BYTES = 256 * 1024;

export const refuse = (code: Refusal['code'], message: string, details?: Record<string, unknown>): PlanResult => ({
  ok: false,
  refusal: details === undefined ? { code, message } : { code, message, details },
});

function uriOf(ctx: PlanContext): string {
  return ctx.scan.source.kind === 'libvirt' ? ctx.scan.source.uri : '';
}

export function virsh(ctx: PlanContext, ...args: string[]): string[] {
  return ['virsh', '-c', uriOf(ctx), ...args];
}

const OPERATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a name is an operation id as the engine issues them (a UUID): only those name trash folders. */
export const isOperationId = (name: string): boolean => OPERATION_ID.test(name);

/** Where `path` goes when operation `operationId` trashes it: `.snaptree-trash/<operationId>/` beside it. */
export function trashPathOf(path: string, operationId: string): string {
  return `${dirname(path)}/${TRASH_DIR}/${operationId}/${basename(path)}`;
}

/** The branch records as they stand: the current branch's name and the recorded (metadata) branches. */
export function recordsOf(domain: Domain): BranchRecords {
  const current = domain.branches.find((b) => b.current);
  return {
    current: current?.name ?? null,
    branches: domain.branches.filter((b) => b.origin === 'metadata').map((b) => ({ name: b.name, tips: b.tips.map((t) => ({ ...t })) })),
  };
}

export function currentBranch(domain: Domain): Branch | undefined {
  return domain.branches.find((b) => b.current);
}

export function layerFormat(domain: Domain, path: string): string {
  return (domain.layers[path] as Layer | undefined)?.format ?? 'qcow2';
}

function nodeIds(domain: Domain): string[] {
  return [...domain.snapshots.map((s) => snapshotNodeId(s.name)), ...domain.branches.map((b) => branchNodeId(b.name))];
}

export function impact(domain: Domain, partial: Partial<Impact> & { changedNodes: string[] }): Impact {
  const changed = new Set(partial.changedNodes);
  return {
    created: [],
    written: [],
    trashed: [],
    metadata: [],
    spaceBytes: 0,
    mustStop: true,
    ...partial,
    unchangedNodes: nodeIds(domain).filter((id) => !changed.has(id)),
  };
}

/** The files a step moves, creates, writes or deletes. */
function touchedBy(step: Step): string[] {
  switch (step.kind) {
    case 'create-overlay':
    case 'rebase':
    case 'trash':
    case 'repair':
      return [step.path];
    case 'commit':
      return [step.top, step.base];
    case 'keep-copy':
      return [step.path, step.copy];
    case 'create-snapshot':
      return Object.values(step.overlays);
    default:
      return [];
  }
}

/** The images a step has qemu-img open, each with its whole backing chain. */
function openedBy(step: Step): string[] {
  switch (step.kind) {
    case 'create-overlay':
      return [step.backing];
    case 'rebase':
      return [step.path, step.backing];
    case 'commit':
      return [step.top];
    case 'repair':
      return [step.path];
    default:
      return [];
  }
}

/**
 * The checks every plan passes where it is assembled, whatever planner made it: no file outside a folder
 * source is touched (docs/safety.md, rule 10: the scan flags layers reached through symlinks or backing links), nothing
 * goes into a trash folder the scan found unsafe, qemu-img never opens a chain with a link it would have to probe
 * (docs/safety.md, rule 9), and nothing the scan could not vouch for is written or opened (`guard-unvouched.ts`: images
 * with an external data file, layers a file it could not read may depend on). Null when the plan may stand.
 */
function guard(ctx: PlanContext, steps: Step[]): Refusal | null {
  const problems = [...ctx.scan.problems, ...ctx.scan.domains.flatMap((d) => d.problems)];
  const flagged = (code: string) => new Set(problems.filter((p) => p.code === code && p.path !== undefined).map((p) => p.path as string));
  const outside = flagged('outside-folder');
  const badTrash = flagged('unsafe-trash');
  const layers: Record<string, Layer> = Object.assign({}, ...ctx.scan.domains.map((d) => d.layers)) as Record<string, Layer>;
  const folder = ctx.scan.source.kind === 'folder' ? ctx.scan.source.path : null;
  const unvouched = unvouchedCheck(ctx.scan, layers);
  for (const step of steps) {
    for (const path of touchedBy(step)) {
      if (outside.has(path) || (folder !== null && !path.startsWith(`${folder}/`))) {
        return {
          code: 'E_NOT_SUPPORTED',
          message: `${path} lies outside the folder ${folder ?? ''} (reached through a symbolic link or a backing link); the app never moves, writes or deletes files outside the folder it was given.`,
          details: { path },
        };
      }
    }
    const trash = step.kind === 'trash' || step.kind === 'keep-copy' ? `${dirname(step.path)}/${TRASH_DIR}` : null;
    if (trash !== null && badTrash.has(trash)) {
      return {
        code: 'E_NOT_SUPPORTED',
        message: `The trash folder ${trash} is not the engine's own (a symbolic link, another owner or another mode); nothing is moved into it. Move it away and check who made it.`,
        details: { path: trash },
      };
    }
    const refused = unvouched(step, touchedBy(step), openedBy(step));
    if (refused !== null) return refused;
    for (const path of openedBy(step)) {
      const link = unknownLink(layers, path);
      if (link !== null) {
        return {
          code: 'E_NOT_SUPPORTED',
          message: `qemu-img would open ${path}, whose chain has a backing link it cannot follow as recorded at ${link} (no recorded format, or a file that was not read); it is never probed. Fix that link first.`,
          details: { path, link },
        };
      }
    }
  }
  return null;
}

export function plan(ctx: PlanContext, intent: Intent, steps: Step[], impactOf: Impact, warnings: string[] = []): PlanResult {
  const refusal = guard(ctx, steps);
  if (refusal !== null) return { ok: false, refusal };
  const firstCommit = steps.findIndex((s) => s.kind === 'commit' || s.kind === 'repair');
  return {
    ok: true,
    plan: { id: ctx.operationId, intent, source: ctx.scan.source, steps, pointOfNoReturn: firstCommit === -1 ? null : firstCommit, impact: impactOf, warnings },
  };
}

/** Checks that apply to every operation on a domain: it exists, it is readable, it is shut off. */
export function openDomain(ctx: PlanContext, name: string): Domain | Refusal {
  const domain = ctx.scan.domains.find((d) => d.name === name);
  if (domain === undefined) return { code: 'E_NOT_FOUND', message: `There is no domain named "${name}".` };
  if (domain.problems.some((p) => p.code === 'domain-unreadable')) {
    return { code: 'E_NOT_FOUND', message: `Domain "${name}" cannot be read, so nothing can be planned on it.` };
  }
  const broken = domain.problems.find((p) => p.severity === 'error');
  if (broken !== undefined) {
    return {
      code: 'E_NOT_SUPPORTED',
      message: `Domain "${name}" has a problem to fix first: ${broken.message}`,
      details: { problem: broken },
    };
  }
  if (domain.state !== 'shut off' && domain.state !== 'folder') {
    return {
      code: 'E_DOMAIN_RUNNING',
      message: `Domain "${name}" is ${domain.state}. Shut it down first; this operation changes which files its disks use.`,
      details: { state: domain.state },
    };
  }
  return domain;
}


/** Opens the domain (see `openDomain`) and finds one of its snapshots. */
export function openSnapshot(ctx: PlanContext, domainName: string, snapshotName: string): { domain: Domain; snapshot: Snapshot } | Refusal {
  const domain = openDomain(ctx, domainName);
  if (isFailure(domain)) return domain;
  const snapshot = domain.snapshots.find((s) => s.name === snapshotName);
  if (snapshot === undefined) return { code: 'E_NOT_FOUND', message: `Domain "${domain.name}" has no snapshot named "${snapshotName}".` };
  return { domain, snapshot };
}

/** Opens the domain (see `openDomain`) and finds one of its branches. */
export function openBranch(ctx: PlanContext, domainName: string, branchName: string): { domain: Domain; branch: Branch } | Refusal {
  const domain = openDomain(ctx, domainName);
  if (isFailure(domain)) return domain;
  const branch = domain.branches.find((b) => b.name === branchName);
  if (branch === undefined) return { code: 'E_NOT_FOUND', message: `Domain "${domain.name}" has no branch named "${branchName}".` };
  return { domain, branch };
}

/** Whether an `open…` helper refused. */
export const isFailure = (value: object): value is Refusal => 'code' in value && 'message' in value;

export function nameTaken(domain: Domain, name: string): boolean {
  return domain.branches.some((b) => b.name === name);
}

export function defineStep(ctx: PlanContext, domain: Domain, disks: Record<string, string>, records: BranchRecords, sentence: string): Step {
  return {
    kind: 'define-domain',
    domain: domain.name,
    disks,
    records,
    sentence,
    command: virsh(ctx, 'define', '--file', `<definition of ${domain.name} with the changes above>`),
  };
}

export function setCurrentStep(ctx: PlanContext, domain: Domain, snapshot: string): Step {
  return {
    kind: 'set-current-snapshot',
    domain: domain.name,
    snapshot,
    sentence: `Make ${snapshot} libvirt's current snapshot of ${domain.name}.`,
    command: virsh(ctx, 'snapshot-current', '--domain', domain.name, '--snapshotname', snapshot),
  };
}

/**
 * The first steps of every revert: per disk, a new overlay on the snapshot's saved state, named after the
 * new branch; and the step that makes the snapshot libvirt's current one.
 */
export function revertSteps(
  ctx: PlanContext,
  domain: Domain,
  snapshot: Snapshot,
  current: Branch,
  branchName: string,
): { creates: Step[]; disks: Record<string, string>; setCurrent: Step } | { refusal: Refusal } {
  const creates: Step[] = [];
  const disks: Record<string, string> = {};
  for (const tip of current.tips) {
    const saved = snapshot.disks.find((d) => d.target === tip.target && d.kind === 'external');
    if (saved === undefined || saved.stateLayer === null) {
      return {
        refusal: {
          code: 'E_NOT_SUPPORTED',
          message: `Snapshot "${snapshot.name}" holds no external saved state of disk ${tip.target}, so the domain cannot return to it as a whole.`,
          details: { target: tip.target },
        },
      };
    }
    const path = `${dirname(saved.stateLayer)}/${domain.name}.${branchName}.${tip.target}.qcow2`;
    if (domain.layers[path] !== undefined) return { refusal: { code: 'E_NAME_TAKEN', message: `The file ${path} already exists.`, details: { path } } };
    const format = layerFormat(domain, saved.stateLayer);
    creates.push({
      kind: 'create-overlay',
      path,
      backing: saved.stateLayer,
      backingFormat: format,
      sentence: `Create ${basename(path)} for ${tip.target}: a new, empty layer on the saved state of ${snapshot.name} (${basename(saved.stateLayer)}).`,
      command: ['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', saved.stateLayer, '-F', format, '--', path],
    });
    disks[tip.target] = path;
  }
  return { creates, disks, setCurrent: setCurrentStep(ctx, domain, snapshot.name) };
}

/** Moves a file into the trash folder beside it. */
export function trashStep(ctx: PlanContext, path: string): Step {
  return {
    kind: 'trash',
    path,
    sentence: `Move ${basename(path)} to the trash (${TRASH_DIR}/ beside it); it can be restored until the trash is emptied.`,
    command: ['mv', '--', path, trashPathOf(path, ctx.operationId)],
  };
}

