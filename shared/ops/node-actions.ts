/**
 * What a graph node allows, and why not when it does not: the planners run here too (they are pure), so a
 * menu shows exactly what the engine would refuse, with the engine's own reason.
 */
import { z } from 'zod';
import type { Domain, ScanResult } from '../model';
import { basename, dirname } from '../paths';
import type { GraphNode } from '../snapshot-graph';
import type { Intent, IntentOf, Refusal } from './plan';
import { planOperation } from './planners';
import { foldCandidate } from './planners/fold-commit';
import { isLive } from './planners/steps';

export type ActionId =
  | 'create-snapshot'
  | 'revert-branch'
  | 'revert-discard'
  | 'switch'
  | 'delete-snapshot'
  | 'commit'
  | 'fold-commit'
  | 'delete-branch'
  | 'rename-branch'
  | 'repair'
  | 'edit-description'
  | 'clone'
  | 'export';

/** Something the user may tick in the plan dialog, such as saving a running VM's memory with its snapshot. */
export interface ActionChoice {
  id: ChoiceId;
  /** Choices of one group exclude each other: ticking one unticks the others. */
  group?: string;
  label: string;
  /** Null when it can be ticked; otherwise the engine's reason. */
  disabled: string | null;
}

export type ChoiceId = 'memory' | 'quiesce' | 'force' | 'save' | 'start' | 'paused';

export interface NodeAction {
  id: ActionId;
  label: string;
  /** A keyboard shortcut inside the node menu. */
  key: string;
  /** The name the user must type, when the action needs one. */
  asks: { label: string; suggestion: string } | null;
  /** What may be ticked in the plan dialog, none ticked to begin with. */
  choices: ActionChoice[];
  /** Null when allowed; otherwise the engine's reason, short (a long list of dependants is counted, see `reasonList`). */
  disabled: string | null;
  /** Every dependant a refusal counts, one sentence each, for a tooltip or a disclosure; absent when `disabled` says it all. */
  reasonList?: string[];
  /** Builds the intent, given the typed name when the action asks for one and the choices ticked. */
  intent: (name: string, chosen?: readonly ChoiceId[]) => Intent;
  danger: boolean;
}

type Candidate = Omit<NodeAction, 'disabled' | 'choices' | 'reasonList'> & { choices?: Array<Omit<ActionChoice, 'disabled'>> };

/** What the VM lands on: saved memory it resumes from (a snapshot's, a branch's), and whether the state left is kept. */
interface Landing {
  onMemory: boolean;
  keepsState: boolean;
}

/**
 * How an action that changes the disks' files treats the VM, from the choices ticked: a live domain is shut down
 * cleanly first, powered off with `force`, or its memory kept with the branch it leaves with `save`; afterwards
 * `start` boots it, and on saved memory it is resumed, `paused` if ticked.
 */
function powerFrom(domain: Domain, chosen: readonly ChoiceId[], landing: Landing): Pick<IntentOf<'switch'>, 'stop' | 'start'> {
  const stop = chosen.includes('save') ? ('save' as const) : chosen.includes('force') ? ('force' as const) : ('shutdown' as const);
  const start = landing.onMemory ? (chosen.includes('paused') ? ('paused' as const) : undefined) : chosen.includes('start') ? ('running' as const) : undefined;
  return { ...(isLive(domain) ? { stop } : {}), ...(start !== undefined ? { start } : {}) };
}

/** The power choices of an action that changes the disks' files; one stop choice at a time (their `group`). */
function powerChoices(domain: Domain, landing: Landing): Array<Omit<ActionChoice, 'disabled'>> {
  const live = isLive(domain);
  return [
    ...(live ? [{ id: 'force' as const, group: 'stop', label: 'Power the VM off at once instead of asking its guest to shut down' }] : []),
    ...(live && landing.keepsState ? [{ id: 'save' as const, group: 'stop', label: 'Keep the running VM, memory and all, with the branch you leave, to resume it later' }] : []),
    landing.onMemory
      ? { id: 'paused' as const, label: 'Leave the VM paused once its saved memory is restored' }
      : { id: 'start' as const, label: 'Start the VM afterwards' },
  ];
}

/** Taking a snapshot of the current branch, with `description` when not empty; a running VM's memory and a quiesce may be chosen. */
function takeSnapshot(domain: Domain, description = ''): Candidate {
  const d = domain.name;
  const choices: Array<Omit<ActionChoice, 'disabled'>> = [
    ...(isLive(domain) ? [{ id: 'memory' as const, label: "Include memory: the VM's RAM is saved beside its disks" }] : []),
    ...(domain.state === 'running' ? [{ id: 'quiesce' as const, label: 'Freeze file systems while it is taken (quiesce, through the guest agent)' }] : []),
  ];
  return {
    id: 'create-snapshot',
    label: 'Take snapshot…',
    key: 's',
    asks: { label: 'Snapshot name', suggestion: freeName(domain, `snap${domain.snapshots.length + 1}`) },
    choices,
    intent: (n, chosen = []) => ({
      op: 'create-snapshot',
      domain: d,
      name: n,
      ...(description !== '' ? { description } : {}),
      ...(chosen.includes('memory') ? { memory: true } : {}),
      ...(chosen.includes('quiesce') ? { quiesce: true } : {}),
    }),
    danger: false,
  };
}

/** A name no branch or snapshot of the domain has, for checking availability before the user types one. */
function freeName(domain: Domain, base: string): string {
  const taken = new Set([...domain.branches.map((b) => b.name), ...domain.snapshots.map((s) => s.name)]);
  let name = base;
  for (let n = 1; taken.has(name); n++) name = `${base}.${n}`;
  return name;
}

/** A name no domain of the scan has: `base`, else `base-2`, `base-3`, … */
function freeDomainName(scan: ScanResult, base: string): string {
  const taken = new Set(scan.domains.map((d) => d.name));
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  return name;
}

/**
 * Cloning the VM from a snapshot or a branch, and exporting its disks (planners/clone.ts, export.ts). The app opens
 * its own dialog for each, which builds the intent; the intent here is a default the verdict is planned on: a
 * linked clone named `DOMAIN-clone` (a free name), an export to qcow2 beside the domain's first disk (in an image
 * folder, into the folder).
 */
function copyActions(scan: ScanResult, domain: Domain, node: GraphNode): Candidate[] {
  const ref = { kind: node.kind, name: node.name };
  const d = domain.name;
  const folder = scan.source.kind === 'folder' ? scan.source.path : null;
  const first = domain.disks.find((x) => x.managed && x.file !== null)?.file ?? null;
  const to = folder ?? (first !== null ? dirname(first) : '/');
  return [
    ...(domain.state !== 'folder'
      ? [{ id: 'clone' as const, label: 'Clone VM from here…', key: 'l', asks: null, intent: () => ({ op: 'clone' as const, domain: d, node: ref, name: freeDomainName(scan, `${d}-clone`), mode: 'linked' as const }), danger: false }]
      : []),
    { id: 'export', label: 'Export disks…', key: 'o', asks: null, intent: () => ({ op: 'export', domain: d, node: ref, to, format: 'qcow2' }), danger: false },
  ];
}

export function nodeActions(scan: ScanResult, domain: Domain, node: GraphNode): NodeAction[] {
  const d = domain.name;
  const candidates: Candidate[] = [];
  if (node.kind === 'snapshot' && domain.state !== 'folder') {
    const s = node.name;
    const onMemory = domain.snapshots.find((x) => x.name === s)?.memoryFile != null;
    const kept = { onMemory, keepsState: true };
    const discarded = { onMemory, keepsState: false };
    candidates.push(
      {
        id: 'revert-branch',
        label: 'Revert with new branch…',
        key: 'b',
        asks: { label: 'New branch name', suggestion: freeName(domain, `${s}.1`) },
        choices: powerChoices(domain, kept),
        intent: (n, chosen = []) => ({ op: 'revert-branch', domain: d, snapshot: s, branch: n, ...powerFrom(domain, chosen, kept) }),
        danger: false,
      },
      {
        id: 'revert-discard',
        label: 'Revert, discarding the current state…',
        key: 'r',
        asks: null,
        choices: powerChoices(domain, discarded),
        intent: (_n, chosen = []) => ({ op: 'revert-discard', domain: d, snapshot: s, ...powerFrom(domain, chosen, discarded) }),
        danger: true,
      },
      { id: 'delete-snapshot', label: 'Delete snapshot…', key: 'd', asks: null, intent: () => ({ op: 'delete-snapshot', domain: d, snapshot: s }), danger: true },
    );
  }
  if (node.kind === 'branch') {
    const b = node.name;
    if (node.current && domain.state !== 'folder') {
      candidates.push(takeSnapshot(domain));
    }
    if (!node.current && domain.state !== 'folder') {
      const landing = { onMemory: domain.branches.find((x) => x.name === b)?.memoryFile !== undefined, keepsState: true };
      candidates.push({
        id: 'switch',
        label: 'Switch to this branch…',
        key: 'w',
        asks: null,
        choices: powerChoices(domain, landing),
        intent: (_n, chosen = []) => ({ op: 'switch', domain: d, branch: b, ...powerFrom(domain, chosen, landing) }),
        danger: false,
      });
    }
    candidates.push(commitOrFold(scan, domain, b));
    if (domain.state !== 'folder') {
      candidates.push({ id: 'rename-branch', label: 'Rename branch…', key: 'n', asks: { label: 'New name', suggestion: freeName(domain, `${b}-renamed`) }, intent: (n) => ({ op: 'rename-branch', domain: d, branch: b, to: n }), danger: false });
    }
    candidates.push({ id: 'delete-branch', label: domain.state === 'folder' ? 'Delete image…' : 'Delete branch…', key: 'x', asks: null, intent: () => ({ op: 'delete-branch', domain: d, branch: b }), danger: true });
  }
  candidates.push(...copyActions(scan, domain, node));
  return candidates.map((action) => withVerdict(scan, action));
}

/**
 * A commit of the branch's tips; where their backing file holds exactly one snapshot's saved state (which a plain
 * commit must leave alone), the fold into that snapshot, which deletes it (planners/fold-commit.ts).
 */
function commitOrFold(scan: ScanResult, domain: Domain, b: string): Candidate {
  const d = domain.name;
  const branch = domain.branches.find((x) => x.name === b);
  const into = branch !== undefined && domain.state !== 'folder' ? foldCandidate(scan, domain, branch) : null;
  if (into === null) return { id: 'commit', label: 'Commit into its backing file…', key: 'c', asks: null, intent: () => ({ op: 'commit', domain: d, branch: b }), danger: true };
  return { id: 'fold-commit', label: `Fold into ${into} and delete snapshot ${into}…`, key: 'c', asks: null, intent: () => ({ op: 'fold-commit', domain: d, branch: b, snapshot: into }), danger: true };
}

/** The dependants a planner's refusal carries in its details (planners/commit.ts, fold-commit.ts). */
const dependantsSchema = z.array(z.object({ kind: z.enum(['layer', 'disk', 'snapshot', 'branch', 'clone']), domain: z.string(), name: z.string(), description: z.string() }));

type Named = z.infer<typeof dependantsSchema>[number];

/**
 * A layer built on the file is told as what the user knows it by: the branch whose tip it is, or the snapshot
 * whose saved state it holds; a file only when it is neither.
 */
function asKnown(scan: ScanResult, dep: Named): Named {
  if (dep.kind !== 'layer') return dep;
  for (const domain of scan.domains) {
    const branch = domain.branches.find((b) => b.tips.some((t) => t.file === dep.name));
    if (branch !== undefined) return { ...dep, kind: 'branch', domain: domain.name, name: branch.name };
    const snapshot = domain.state === 'folder' ? undefined : domain.snapshots.find((s) => s.disks.some((d) => d.stateLayer === dep.name));
    if (snapshot !== undefined) return { ...dep, kind: 'snapshot', domain: domain.name, name: snapshot.name };
  }
  return dep;
}

/** How many names a short reason shows inline; the rest are counted. */
const INLINE_NAMES = 5;

/** "snapshot s1", "2 snapshots", "3 other images", … for one kind of dependant. */
function countOf(kind: string, names: readonly string[]): string {
  const [first] = names;
  if (names.length === 1 && first !== undefined) return `${kind} ${first}`;
  if (kind === 'branch') return `${names.length} other branches`;
  if (kind === 'image') return `${names.length} other images`;
  return `${names.length} ${kind}s`;
}

/**
 * A refusal in a few words: one that lists what depends on a file says how many of each kind (at most
 * INLINE_NAMES names inline) and what can be done instead; the whole list goes to `reasonList`. Any other
 * refusal is the planner's message as it is. In an image folder (`folder`) a branch is told as an image.
 */
export function shortReason(scan: ScanResult, refusal: Refusal, op: string, folder = false): { text: string; list?: string[] } {
  const parsed = dependantsSchema.safeParse(refusal.details?.dependants);
  const base = typeof refusal.details?.base === 'string' ? basename(refusal.details.base) : null;
  if (!parsed.success || parsed.data.length === 0 || base === null) return { text: refusal.message };
  const deps = parsed.data.map((x) => asKnown(scan, x));
  const kinds: Array<[string, string[]]> = [
    ['snapshot', deps.filter((x) => x.kind === 'snapshot').map((x) => x.name)],
    [folder ? 'image' : 'branch', deps.filter((x) => x.kind === 'branch').map((x) => x.name)],
    ['clone', deps.filter((x) => x.kind === 'clone').map((x) => x.domain)],
    ['disk', deps.filter((x) => x.kind === 'disk').map((x) => `${x.name} of ${x.domain}`)],
    ['file', deps.filter((x) => x.kind === 'layer').map((x) => basename(x.name))],
  ];
  const present = kinds.filter(([, names]) => names.length > 0).map(([kind, names]) => [kind, [...new Set(names)]] as const);
  const counts = present.map(([kind, names]) => countOf(kind, names));
  const names = present.flatMap(([, n]) => (n.length > 1 ? n : []));
  const inline = names.length === 0 ? '' : ` (${names.slice(0, INLINE_NAMES).join(', ')}${names.length > INLINE_NAMES ? `, and ${names.length - INLINE_NAMES} more` : ''})`;
  const list = counts.length === 1 ? counts[0] : `${counts.slice(0, -1).join(', ')} and ${counts[counts.length - 1] ?? ''}`;
  const verb = op === 'fold-commit' ? 'Cannot fold' : 'Cannot commit';
  const instead = `The ${folder ? 'image' : 'branch'} stays as it is; delete those first if you no longer need them.`;
  return { text: `${verb}: ${base} is also used by ${list}${inline}. ${instead}`, list: deps.map((x) => x.description) };
}

/** Why the planner refuses the action with `chosen` ticked, in short; null when it accepts it. */
function refusalOf(scan: ScanResult, action: Candidate, chosen: readonly ChoiceId[] = []): { text: string; list?: string[] } | null {
  const intent = action.intent(action.asks?.suggestion ?? '', chosen);
  const result = planOperation({ scan, operationId: '00000000-0000-0000-0000-000000000000' }, intent);
  if (result.ok) return null;
  const folder = scan.domains.find((x) => x.name === intent.domain)?.state === 'folder';
  return shortReason(scan, result.refusal, intent.op, folder);
}

/** The action with the engine's verdict on it, and on each choice ticked alone: null when its planner accepts it, else the planner's reason. */
function withVerdict(scan: ScanResult, action: Candidate): NodeAction {
  const verdict = refusalOf(scan, action);
  const disabled = verdict?.text ?? null;
  const choices = (action.choices ?? []).map((choice) => ({ ...choice, disabled: disabled === null ? (refusalOf(scan, action, [choice.id])?.text ?? null) : disabled }));
  return { ...action, choices, disabled, ...(verdict?.list !== undefined ? { reasonList: verdict.list } : {}) };
}

/** The fix for what a health check found on one file: free its leaks, or repair its corruption too. */
export function repairAction(scan: ScanResult, domain: Domain, path: string, mode: 'leaks' | 'all'): NodeAction {
  return withVerdict(scan, {
    id: 'repair',
    label: mode === 'leaks' ? 'Free leaked clusters…' : 'Repair, keeping a copy…',
    key: 'p',
    asks: null,
    intent: () => ({ op: 'repair', domain: domain.name, path, mode }),
    danger: mode === 'all',
  });
}

/**
 * Taking a snapshot of the domain, whatever node is selected (the toolbar's button and its dialog): the same
 * action as the current branch's menu item, `description` given to it when not empty.
 */
export function takeSnapshotAction(scan: ScanResult, domain: Domain, description = ''): NodeAction {
  return withVerdict(scan, takeSnapshot(domain, description));
}

/** Setting a snapshot's description to `description` (empty: removing it), from its details. */
export function editDescriptionAction(scan: ScanResult, domain: Domain, snapshot: string, description: string): NodeAction {
  return withVerdict(scan, {
    id: 'edit-description',
    label: 'Edit description…',
    key: 'e',
    asks: null,
    intent: () => ({ op: 'edit-description', domain: domain.name, snapshot, description }),
    danger: false,
  });
}
