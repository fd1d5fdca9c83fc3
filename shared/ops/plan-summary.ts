/**
 * The one line a preview starts with: what happens to the user's VM and to the state they are in, in words
 * ("You will be at snap1 on a new branch snap1.1; your current state stays as branch main"). Read from the plan's
 * intent and impact (shared/ops/plan.ts), never from its step sentences; the app's dialog and the CLI's text both
 * print it first.
 */
import type { Domain } from '../model';
import type { Intent, IntentOf, Plan } from './plan';

/**
 * The name of the branch the domain is on: the domain's own record, else what the plan says of it (the first
 * changed branch node of a revert, switch or snapshot; the branch a discarding revert lands on again).
 */
function currentName(plan: Plan, domain: Domain | null): string | null {
  if (domain !== null) return domain.branches.find((b) => b.current)?.name ?? null;
  const { op } = plan.intent;
  const id =
    op === 'revert-discard'
      ? plan.impact.currentAfter
      : op === 'revert-branch' || op === 'switch' || op === 'create-snapshot'
        ? plan.impact.changedNodes.find((n) => n.startsWith('b:'))
        : undefined;
  return id === undefined || id === null ? null : id.slice(2);
}

/** "3 files go to the trash", or '' when none does. */
function trashWords(plan: Plan): string {
  const n = plan.impact.trashed.length;
  if (n === 0) return '';
  return `${n} file${n === 1 ? '' : 's'} go${n === 1 ? 'es' : ''} to the trash`;
}

/** What happens to a running VM first, as a short clause, or ''. */
function powerWords(plan: Plan): string {
  const stop = plan.steps.find((s) => s.kind === 'stop-domain');
  if (stop === undefined) return '';
  const how = stop.mode === 'save' ? 'its memory is saved and it stops' : stop.mode === 'force' ? 'it is powered off' : 'it is shut down';
  return `${plan.intent.domain} is running: ${how} first`;
}

const branchWord = (name: string | null): string => (name === null ? 'a branch' : `branch ${name}`);
const stayOn = (name: string | null): string => (name === null ? 'you stay where you are' : `you stay on branch ${name}`);

function revertBranch(plan: Plan, intent: IntentOf<'revert-branch'>, current: string | null): string {
  const kept = plan.impact.renamed?.to ?? intent.keepAs ?? current;
  return `You will be at ${intent.snapshot} on a new branch ${intent.branch}; your current state stays as ${branchWord(kept)}`;
}

function revertDiscard(plan: Plan, intent: IntentOf<'revert-discard'>, current: string | null): string {
  const trash = trashWords(plan);
  return `You will be at ${intent.snapshot} on ${branchWord(current)} again; your current state is discarded${trash === '' ? '' : ` (${trash})`}`;
}

function deleteSnapshot(plan: Plan, intent: IntentOf<'delete-snapshot'>, current: string | null): string {
  const what = intent.metadataOnly === true ? `Snapshot ${intent.snapshot} of ${intent.domain} loses its record; its files stay` : `Snapshot ${intent.snapshot} of ${intent.domain} is deleted`;
  const trash = trashWords(plan);
  return `${what}${trash === '' ? '' : ` (${trash})`}; ${stayOn(current)}, your current state unchanged`;
}

function commit(plan: Plan, intent: IntentOf<'commit'>, current: string | null): string {
  const removed = plan.impact.removedSnapshots;
  const into = plan.impact.written.map((f) => f.split('/').pop() ?? f).join(', ');
  const also = removed.length === 0 ? '' : ` and snapshot${removed.length === 1 ? '' : 's'} ${removed.join(', ')} ${removed.length === 1 ? 'is' : 'are'} deleted`;
  const trash = trashWords(plan);
  const stay = current === intent.branch ? `you stay on branch ${intent.branch}, with the same content` : current === null ? 'its content stays the same' : `${stayOn(current)}; its content stays the same`;
  return `Branch ${intent.branch}'s changes are folded into ${into === '' ? 'the file below it' : into}${trash === '' ? '' : ` (${trash})`}${also}; ${stay}`;
}

function createSnapshot(intent: IntentOf<'create-snapshot'>, current: string | null): string {
  const memory = intent.memory === true ? ' and memory' : '';
  return `Snapshot ${intent.name} saves ${intent.domain}'s current disks${memory}; ${stayOn(current)}, which goes on from ${intent.name}`;
}

function cloneWords(plan: Plan, intent: IntentOf<'clone'>, current: string | null): string {
  const { node, name, domain } = intent;
  const start = intent.start === true ? `, and ${name} starts` : '';
  if (intent.mode === 'full') {
    const n = plan.steps.filter((step) => step.kind === 'convert').length;
    return `A new domain ${name}, a full copy of ${node.kind} ${node.name} of ${domain}: ${n === 1 ? 'its disk is a standalone image' : `its ${n} disks are standalone images`} with no link to ${domain}${start}; ${stayOn(current)}`;
  }
  if (node.kind === 'snapshot') return `A new domain ${name}, linked to snapshot ${node.name} of ${domain}: its disks build on ${node.name}'s saved state${start}; ${stayOn(current)}`;
  const goesOn = current === node.name ? `you stay on branch ${node.name}, which goes on in new files` : `branch ${node.name} goes on in new files; ${stayOn(current)}`;
  return `A new domain ${name}, linked to branch ${node.name} of ${domain}: its disks build on ${node.name}'s files as they are now, which are frozen for it${start}; ${goesOn}`;
}

function exportWords(plan: Plan, intent: IntentOf<'export'>, current: string | null): string {
  const n = plan.steps.filter((step) => step.kind === 'convert').length;
  const images = `${n === 1 ? 'one standalone' : `${n} standalone`}${intent.compress === true ? ' compressed' : ''} ${intent.format} image${n === 1 ? '' : 's'}`;
  return `The disks of ${intent.node.kind} ${intent.node.name} of ${intent.domain} are copied to ${intent.to} as ${images}; nothing of ${intent.domain} changes, ${stayOn(current)}`;
}

/** The sentence for the plan's operation, without its power clause. */
function mainWords(plan: Plan, current: string | null): string {
  const intent = plan.intent;
  switch (intent.op) {
    case 'revert-branch':
      return revertBranch(plan, intent, current);
    case 'revert-discard':
      return revertDiscard(plan, intent, current);
    case 'switch':
      return `You will be on branch ${intent.branch}; your current state stays as ${branchWord(current)}`;
    case 'rename-branch':
      return `Branch ${intent.branch} will be named ${intent.to}; ${current === intent.branch ? 'you stay on it' : stayOn(current)}, nothing else changes`;
    case 'delete-snapshot':
      return deleteSnapshot(plan, intent, current);
    case 'commit':
      return commit(plan, intent, current);
    case 'fold-commit': {
      const trash = trashWords(plan);
      const stay = current === intent.branch ? `you stay on branch ${intent.branch}, with the same content` : `${stayOn(current)}; its content stays the same`;
      return `Branch ${intent.branch}'s changes are folded into the saved state of snapshot ${intent.snapshot}, and snapshot ${intent.snapshot} is deleted${trash === '' ? '' : ` (${trash})`}; ${stay}`;
    }
    case 'create-snapshot':
      return createSnapshot(intent, current);
    case 'delete-branch': {
      const trash = trashWords(plan);
      return `Branch ${intent.branch} of ${intent.domain} is deleted${trash === '' ? '' : ` (${trash})`}; ${stayOn(current)}, your current state unchanged`;
    }
    case 'edit-description':
      return `Snapshot ${intent.snapshot} ${intent.description === '' ? 'loses its description' : 'gets the new description'}; only libvirt's record of it changes, ${stayOn(current)}`;
    case 'repair':
      return `${intent.path.split('/').pop() ?? intent.path} is repaired (${intent.mode === 'all' ? 'leaks and errors' : 'leaked space only'}), a copy kept in the trash first; your current state stays where it is`;
    case 'clone':
      return cloneWords(plan, intent, current);
    case 'export':
      return exportWords(plan, intent, current);
  }
}

/**
 * One sentence saying where the user will be after the plan and what becomes of the state they are in now.
 * `domain` is the domain as scanned (for the current branch's name); without it the plan's own nodes name it.
 */
export function planSummary(plan: Plan, domain: Domain | null = null): string {
  const power = powerWords(plan);
  return `${mainWords(plan, currentName(plan, domain))}${power === '' ? '' : `; ${power}`}.`;
}

/**
 * The operation with its subject, for status lines and logs: "Delete snapshot snap2 of web01", "Revert web01 to
 * snap1 on a new branch snap1.1", so an entry says which domain and node it is about, not only what ran.
 */
export function operationWords(intent: Intent): string {
  const d = intent.domain;
  switch (intent.op) {
    case 'revert-branch':
      return `Revert ${d} to ${intent.snapshot} on a new branch ${intent.branch}`;
    case 'revert-discard':
      return `Revert ${d} to ${intent.snapshot}, discarding the state left`;
    case 'switch':
      return `Switch ${d} to branch ${intent.branch}`;
    case 'rename-branch':
      return `Rename branch ${intent.branch} of ${d} to ${intent.to}`;
    case 'delete-snapshot':
      return `Delete ${intent.metadataOnly === true ? 'the record of snapshot' : 'snapshot'} ${intent.snapshot} of ${d}`;
    case 'commit':
      return `Commit branch ${intent.branch} of ${d}`;
    case 'fold-commit':
      return `Fold branch ${intent.branch} of ${d} into snapshot ${intent.snapshot}`;
    case 'create-snapshot':
      return `Take snapshot ${intent.name} of ${d}`;
    case 'delete-branch':
      return `Delete branch ${intent.branch} of ${d}`;
    case 'edit-description':
      return `Change the description of snapshot ${intent.snapshot} of ${d}`;
    case 'repair':
      return `Repair ${intent.path.split('/').pop() ?? intent.path} of ${d}`;
    case 'clone':
      return `Clone ${d} from ${intent.node.kind} ${intent.node.name} as ${intent.name} (${intent.mode === 'linked' ? 'linked' : 'full copy'})`;
    case 'export':
      return `Export the disks of ${intent.node.kind} ${intent.node.name} of ${d} to ${intent.to}`;
  }
}
