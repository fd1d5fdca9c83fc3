/**
 * What every planner shares: the context, refusals, the checks that open a domain or snapshot, and the steps
 * several operations use (define the domain, set the current snapshot, new overlays, trash).
 */
import type { Branch, Domain, Layer, ScanResult, Snapshot } from '../model';
import { basename, dirname } from '../paths';
import { branchNodeId, snapshotNodeId } from '../snapshot-graph';
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

export function plan(ctx: PlanContext, intent: Intent, steps: Step[], impactOf: Impact, warnings: string[] = []): PlanResult {
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

