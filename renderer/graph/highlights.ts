/**
 * Which nodes a plan touches, for the graph to show while its preview is open: the nodes that change, the ones
 * that go (to the trash, or their record deleted), and ghosts for the ones it creates.
 */
import type { Domain } from '../../shared/model';
import type { Plan } from '../../shared/ops/plan';
import { branchNodeId, snapshotGraph, snapshotNodeId, type GraphNode } from '../../shared/snapshot-graph';

export type Mark = 'changed' | 'removed' | 'created' | 'flash';

export interface Highlights {
  marks: Record<string, Mark>;
  /** Nodes the plan creates, drawn as ghosts until it runs. */
  ghosts: GraphNode[];
}

export const NO_HIGHLIGHTS: Highlights = { marks: {}, ghosts: [] };

function ghost(id: string, name: string, kind: GraphNode['kind'], parentId: string | null, current: boolean): GraphNode {
  return { id, name, kind, parentId, current, size: 0 };
}

export function highlightsFor(domain: Domain, plan: Plan): Highlights {
  const nodes = snapshotGraph(domain);
  const existing = new Set(nodes.map((n) => n.id));
  const trashed = new Set(plan.impact.trashed);
  const marks: Record<string, Mark> = {};
  const ghosts: GraphNode[] = [];
  const deleted = new Set(plan.impact.metadata.map((m) => /^snapshot (.+) \(deleted\)$/.exec(m)?.[1]).filter((n): n is string => n !== undefined));
  const intent = plan.intent;
  if (intent.op === 'delete-snapshot') deleted.add(intent.snapshot);

  for (const node of nodes) {
    const files = node.snapshot ? node.snapshot.disks.map((d) => d.stateLayer) : (node.branch?.tips.map((t) => t.file) ?? []);
    const gone = (node.kind === 'snapshot' && deleted.has(node.name)) || (node.kind === 'branch' && files.length > 0 && files.every((f) => f !== null && trashed.has(f)));
    if (gone) marks[node.id] = 'removed';
    else if (plan.impact.changedNodes.includes(node.id)) marks[node.id] = 'changed';
  }

  const current = nodes.find((n) => n.kind === 'branch' && n.current);
  if (intent.op === 'revert-branch') {
    ghosts.push(ghost(branchNodeId(intent.branch), intent.branch, 'branch', snapshotNodeId(intent.snapshot), true));
  } else if (intent.op === 'create-snapshot') {
    ghosts.push(ghost(snapshotNodeId(intent.name), intent.name, 'snapshot', current?.parentId ?? null, false));
  } else if (intent.op === 'rename-branch') {
    const renamed = nodes.find((n) => n.id === branchNodeId(intent.branch));
    ghosts.push(ghost(branchNodeId(intent.to), intent.to, 'branch', renamed?.parentId ?? null, renamed?.current ?? false));
    marks[branchNodeId(intent.branch)] = 'removed';
  } else if (intent.op === 'revert-discard' && current !== undefined) {
    ghosts.push(ghost(`${current.id}#new`, current.name, 'branch', snapshotNodeId(intent.snapshot), true));
  }
  for (const g of ghosts) marks[g.id] = 'created';
  return { marks, ghosts: ghosts.filter((g) => !existing.has(g.id)) };
}
