/**
 * What a graph node allows, and why not when it does not: the planners run here too (they are pure), so a
 * menu shows exactly what the engine would refuse, with the engine's own reason.
 */
import type { Domain, ScanResult } from '../model';
import type { GraphNode } from '../snapshot-graph';
import type { Intent } from './plan';
import { planOperation } from './planners';

export type ActionId = 'create-snapshot' | 'revert-branch' | 'revert-discard' | 'switch' | 'delete-snapshot' | 'commit' | 'delete-branch' | 'rename-branch' | 'repair';

export interface NodeAction {
  id: ActionId;
  label: string;
  /** A keyboard shortcut inside the node menu. */
  key: string;
  /** The name the user must type, when the action needs one. */
  asks: { label: string; suggestion: string } | null;
  /** Null when allowed; otherwise the engine's reason. */
  disabled: string | null;
  /** Builds the intent, given the typed name when the action asks for one. */
  intent: (name: string) => Intent;
  danger: boolean;
}

/** A name no branch or snapshot of the domain has, for checking availability before the user types one. */
function freeName(domain: Domain, base: string): string {
  const taken = new Set([...domain.branches.map((b) => b.name), ...domain.snapshots.map((s) => s.name)]);
  let name = base;
  for (let n = 1; taken.has(name); n++) name = `${base}.${n}`;
  return name;
}

export function nodeActions(scan: ScanResult, domain: Domain, node: GraphNode): NodeAction[] {
  const d = domain.name;
  const candidates: Array<Omit<NodeAction, 'disabled'>> = [];
  if (node.kind === 'snapshot' && domain.state !== 'folder') {
    const s = node.name;
    candidates.push(
      { id: 'revert-branch', label: 'Revert with new branch…', key: 'b', asks: { label: 'New branch name', suggestion: freeName(domain, `${s}.1`) }, intent: (n) => ({ op: 'revert-branch', domain: d, snapshot: s, branch: n }), danger: false },
      { id: 'revert-discard', label: 'Revert, discarding the current state…', key: 'r', asks: null, intent: () => ({ op: 'revert-discard', domain: d, snapshot: s }), danger: true },
      { id: 'delete-snapshot', label: 'Delete snapshot…', key: 'd', asks: null, intent: () => ({ op: 'delete-snapshot', domain: d, snapshot: s }), danger: true },
    );
  }
  if (node.kind === 'branch') {
    const b = node.name;
    if (node.current && domain.state !== 'folder') {
      candidates.push({ id: 'create-snapshot', label: 'Take snapshot…', key: 's', asks: { label: 'Snapshot name', suggestion: freeName(domain, `snap${domain.snapshots.length + 1}`) }, intent: (n) => ({ op: 'create-snapshot', domain: d, name: n }), danger: false });
    }
    if (!node.current && domain.state !== 'folder') {
      candidates.push({ id: 'switch', label: 'Switch to this branch…', key: 'w', asks: null, intent: () => ({ op: 'switch', domain: d, branch: b }), danger: false });
    }
    candidates.push({ id: 'commit', label: 'Commit into its backing file…', key: 'c', asks: null, intent: () => ({ op: 'commit', domain: d, branch: b }), danger: true });
    if (domain.state !== 'folder') {
      candidates.push({ id: 'rename-branch', label: 'Rename branch…', key: 'n', asks: { label: 'New name', suggestion: freeName(domain, `${b}-renamed`) }, intent: (n) => ({ op: 'rename-branch', domain: d, branch: b, to: n }), danger: false });
    }
    candidates.push({ id: 'delete-branch', label: 'Delete branch…', key: 'x', asks: null, intent: () => ({ op: 'delete-branch', domain: d, branch: b }), danger: true });
  }
  return candidates.map((action) => withVerdict(scan, action));
}

/** The action with the engine's verdict: null when its planner accepts it, else the planner's reason. */
function withVerdict(scan: ScanResult, action: Omit<NodeAction, 'disabled'>): NodeAction {
  const result = planOperation({ scan, operationId: '00000000-0000-0000-0000-000000000000' }, action.intent(action.asks?.suggestion ?? ''));
  return { ...action, disabled: result.ok ? null : result.refusal.message };
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
