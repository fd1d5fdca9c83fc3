/**
 * Which nodes a plan touches, for the graph to show while its preview is open: the nodes that change, the ones
 * that go (to the trash, or their record deleted), and ghosts for the ones it creates. Read from the impact's
 * graph fields (shared/ops/plan.ts), never from its display text.
 */
import type { Domain } from '../../shared/model';
import type { Plan } from '../../shared/ops/plan';
import { branchNodeId, snapshotGraph, snapshotNodeId, type GraphNode } from '../../shared/snapshot-graph';

export type Mark = 'changed' | 'removed' | 'created' | 'flash';

export interface Highlights {
  marks: Record<string, Mark>;
  /** Nodes the plan creates, drawn as ghosts until it runs. */
  ghosts: GraphNode[];
  /**
   * Where You are here will be after the plan, when it moves: the node (or ghost) drawn with "You will be here",
   * while the You are here of now is dimmed. Null when the plan leaves the user where they are.
   */
  hereAfter: string | null;
}

export const NO_HIGHLIGHTS: Highlights = { marks: {}, ghosts: [], hereAfter: null };

/** The node (or ghost) You are here lands on after the plan, or null when it stays on the current node. */
function hereAfterOf(nodes: GraphNode[], ghosts: GraphNode[], plan: Plan): string | null {
  const landing = ghosts.find((g) => g.current)?.id ?? (nodes.some((n) => n.id === plan.impact.currentAfter) ? plan.impact.currentAfter : null);
  const now = nodes.find((n) => n.kind === 'branch' && n.current)?.id ?? null;
  return landing === now ? null : landing;
}

function ghost(id: string, name: string, kind: GraphNode['kind'], parentId: string | null, current: boolean): GraphNode {
  return { id, name, kind, parentId, current, size: 0 };
}

/** The nodes the plan adds, and a renamed branch under its new name; one whose id is drawn already gets a ghost id of its own. */
function ghostsOf(nodes: GraphNode[], plan: Plan): GraphNode[] {
  const { createdNodes, renamed, currentAfter } = plan.impact;
  const existing = new Set(nodes.map((n) => n.id));
  const out = createdNodes.map((n) => ghost(existing.has(n.id) ? `${n.id}#new` : n.id, n.name, n.kind, n.parentId, n.id === currentAfter));
  if (renamed !== null) {
    const from = nodes.find((n) => n.id === branchNodeId(renamed.from));
    const to = branchNodeId(renamed.to);
    out.push(ghost(to, renamed.to, 'branch', from?.parentId ?? null, to === currentAfter));
  }
  return out.filter((g) => !existing.has(g.id));
}

export function highlightsFor(domain: Domain, plan: Plan): Highlights {
  const nodes = snapshotGraph(domain);
  const { impact } = plan;
  const removed = new Set([
    ...impact.removedSnapshots.map(snapshotNodeId),
    ...impact.removedBranches.map(branchNodeId),
    ...(impact.renamed !== null ? [branchNodeId(impact.renamed.from)] : []),
  ]);
  const changed = new Set(impact.changedNodes);
  const marks: Record<string, Mark> = {};
  for (const node of nodes) {
    if (removed.has(node.id)) marks[node.id] = 'removed';
    else if (changed.has(node.id)) marks[node.id] = 'changed';
  }
  const ghosts = ghostsOf(nodes, plan);
  for (const g of ghosts) marks[g.id] = 'created';
  return { marks, ghosts, hereAfter: hereAfterOf(nodes, ghosts, plan) };
}
