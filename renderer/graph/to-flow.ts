/**
 * Pure mapping from a domain's snapshot graph to React Flow nodes and edges, laid out with the root at the left.
 * The layout is in lanes, like a version history (laneLayout): a node's first child continues its row, each
 * other child starts a lane, and lanes are ordered by a stable key (creation time, name), never by scan order, so
 * the nodes that an operation or a rescan leaves alone keep their place. Long straight runs are folded (collapse-runs.ts). Width and
 * height are set from the layout so that off-screen culling works from the first frame.
 */
import type { Edge, Node } from '@xyflow/react';
import type { Domain } from '../../shared/model';
import { snapshotGraph, type GraphNode } from '../../shared/snapshot-graph';
import { foldRuns, type Folded, type Run } from './collapse-runs';
import { sideHandles } from './handles';
import { findingsByPath } from './health';
import { NO_HIGHLIGHTS, type Highlights, type Mark } from './highlights';

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 84;
const COLUMN = NODE_WIDTH + 44;
const ROW = NODE_HEIGHT + 22;

export type SnapNodeData = GraphNode & {
  /** What is wrong with this node's files, one sentence each. */
  findings: string[];
  /** How an open plan, or a finished one, touches this node. */
  mark: Mark | null;
  /** Drawn only as a preview of what a plan would create. */
  ghost: boolean;
  /** Which side of a comparison this node is. */
  side?: 'A' | 'B' | null;
  /** On You are here: the VM's state while it runs or is paused (a running VM works on these files). */
  vmState?: 'running' | 'paused';
  /** An open plan moves You are here: `after` on where it lands, `before` on the You are here it leaves. */
  here?: 'after' | 'before';
  /** The other domains (clones) that build on this node's files: it is one of their dependants' bases. */
  usedBy?: string[];
  [key: string]: unknown;
};

export type SnapFlowNode = Node<SnapNodeData, 'snapshot' | 'branch'>;

/** A folded run of snapshots, drawn as one node that opens it. */
export type RunNodeData = {
  runId: string;
  count: number;
  /** The names of the first and last folded snapshots. */
  first: string;
  last: string;
  [key: string]: unknown;
};

export type RunFlowNode = Node<RunNodeData, 'run'>;
export type FlowNode = SnapFlowNode | RunFlowNode;

/** Parent and children links, each node's children in layout order. */
export interface TreeLinks {
  parentOf: Record<string, string | null>;
  childrenOf: Record<string, string[]>;
}

export interface FlowGraph extends TreeLinks {
  nodes: FlowNode[];
  edges: Edge[];
  /** Node ids in reading order (top to bottom, then left to right), for keyboard movement. */
  order: string[];
  /** The whole tree, folded snapshots included, for moves along a branch and for search. */
  tree: TreeLinks;
  /** Every snapshot and branch in tree order (depth first), folded ones included. */
  treeOrder: string[];
  /** The folded snapshots, each with the run that holds it. */
  hiddenIn: Record<string, string>;
  /** The graph's snapshots and branches (and a plan's ghosts), folded ones included. */
  graphNodes: GraphNode[];
}

export interface FlowOptions {
  /** The runs the user opened (run ids, collapse-runs.ts). */
  expanded?: ReadonlySet<string>;
  /** Graph node id → the names of the other domains (clones) that build on its files (shared/clones.ts). */
  usedBy?: ReadonlyMap<string, readonly string[]>;
}

const ROOT = '\0root';
const HANDLES = sideHandles(NODE_WIDTH, NODE_HEIGHT);

function filesOf(node: GraphNode): string[] {
  if (node.snapshot) return node.snapshot.disks.flatMap((d) => [d.stateLayer, d.overlay]).filter((p): p is string => p !== null);
  return node.branch?.tips.map((t) => t.file) ?? [];
}

/**
 * Children in a stable order: snapshots by creation time, then You are here, then the other branches by name. The
 * first child continues its parent's lane; a snapshot taken on You are here takes its place there, the newest.
 */
function rank(node: GraphNode): string {
  if (node.kind === 'snapshot') return `0${node.snapshot?.created ?? ''}\0${node.name}`;
  return `${node.current ? '1' : '2'}${node.name}`;
}

/** Each node's parent and its children in rank order, with the roots listed under ROOT. */
function linkNodes(graphNodes: GraphNode[], byId: Map<string, GraphNode>): TreeLinks {
  const childrenOf: Record<string, string[]> = {};
  const parentOf: Record<string, string | null> = {};
  for (const node of graphNodes) {
    parentOf[node.id] = node.parentId;
    const key = node.parentId ?? ROOT;
    (childrenOf[key] ??= []).push(node.id);
  }
  const ranks = new Map([...byId].map(([id, node]) => [id, rank(node)]));
  for (const list of Object.values(childrenOf)) {
    list.sort((a, b) => {
      const ra = ranks.get(a) ?? '';
      const rb = ranks.get(b) ?? '';
      return ra < rb ? -1 : ra > rb ? 1 : a < b ? -1 : a > b ? 1 : 0;
    });
  }
  return { parentOf, childrenOf };
}

/**
 * The tree laid out, each node in it once; `parentOf` and `childrenOf` are brought in line with it. snapshotGraph
 * cuts loops of parents, but ghosts and duplicate ids come from elsewhere: a node reached twice would be walked
 * without end and one never reached from the roots (a loop) dropped, so the second visit is skipped and an
 * unreached node hangs off the root.
 */
function cutToTree(graphNodes: GraphNode[], links: TreeLinks): Record<string, string[]> {
  const { parentOf, childrenOf } = links;
  const laidTree: Record<string, string[]> = { [ROOT]: [] };
  const reached = new Set<string>([ROOT]);
  const visit = (from: string): void => {
    for (let queue = [from], i = 0; i < queue.length; i++) {
      const id = queue[i] as string;
      const kids = (childrenOf[id] ?? []).filter((kid) => !reached.has(kid) && reached.add(kid));
      laidTree[id] = [...(laidTree[id] ?? []), ...kids];
      queue.push(...kids);
    }
  };
  visit(ROOT);
  for (const node of graphNodes) {
    if (reached.has(node.id)) continue;
    reached.add(node.id);
    parentOf[node.id] = null;
    laidTree[ROOT]?.push(node.id);
    visit(node.id);
  }
  for (const id of Object.keys(childrenOf)) childrenOf[id] = laidTree[id] ?? [];
  return laidTree;
}

/** Depth-first order of a tree from ROOT, iteratively (a chain of thousands would overflow a recursion). */
function depthFirst(children: Record<string, string[]>): string[] {
  const out: string[] = [];
  const stack = [...(children[ROOT] ?? [])].reverse();
  while (stack.length > 0) {
    const id = stack.pop() as string;
    out.push(id);
    stack.push(...[...(children[id] ?? [])].reverse());
  }
  return out;
}

/** Where a lane that starts at this node goes among the lanes: snapshots by creation time, a branch at the time of its base, You are here last. */
function laneKey(id: string, byId: Map<string, GraphNode>, parentOf: Record<string, string | null>): string {
  const node = byId.get(id);
  if (node === undefined) return `\uffff${id}`;
  if (node.kind === 'snapshot') return `${node.snapshot?.created ?? ''}\u0000${node.name}`;
  if (node.current) return `\uffff${node.name}`;
  const base = byId.get(parentOf[id] ?? '');
  // A branch on no snapshot (its snapshot was deleted; it grows from a base file) stays below the snapshots' lanes.
  if (base === undefined) return `\ufffe${node.name}`;
  return `${base.snapshot?.created ?? ''}\u0001${node.name}`;
}

/** The bottom file (the base image) of the chain under `path`, following backing links; null when unknown. */
function bottomOf(domain: Domain, path: string | undefined): string | null {
  const seen = new Set<string>();
  let at = path ?? null;
  while (at !== null && !seen.has(at)) {
    seen.add(at);
    const below = domain.layers[at]?.backing ?? null;
    if (below === null) return at;
    at = below;
  }
  return null;
}

/**
 * Edges from a branch on no snapshot to the first root snapshot whose chain has the same base file: after its
 * snapshot was deleted a branch grows from that file, as the root snapshots do (the scan draws them side by
 * side under the disk), so the edge names the shared file instead of a snapshot it does not build on.
 */
function sharedBaseEdges(domain: Domain, graphNodes: GraphNode[], parentOf: Record<string, string | null>): Edge[] {
  const roots = graphNodes.filter((n) => n.kind === 'snapshot' && parentOf[n.id] === null);
  const edges: Edge[] = [];
  for (const node of graphNodes) {
    if (node.kind !== 'branch' || parentOf[node.id] !== null || node.branch === undefined) continue;
    const bottom = bottomOf(domain, node.branch.tips[0]?.file);
    const root = bottom === null ? undefined : roots.find((r) => bottomOf(domain, r.snapshot?.disks[0]?.stateLayer ?? undefined) === bottom);
    if (root === undefined || bottom === null) continue;
    const file = bottom.slice(bottom.lastIndexOf('/') + 1);
    edges.push({
      id: `${root.id}~>${node.id}`,
      source: root.id,
      target: node.id,
      type: 'smoothstep',
      focusable: false,
      label: `both on ${file}`,
      ariaLabel: `${node.name} and ${root.name} grow from the same base file ${file}`,
      className: 'edge-branch edge-shared-base',
    });
  }
  return edges;
}

/**
 * Lanes, as in a version history: column by depth; a first child stays on its parent's row, every other child
 * (and every root) starts a lane of its own. Lanes are ordered by their first node's key (laneKey), so a new lane
 * (a new branch, You are here after a revert) goes below the others instead of pushing them down.
 */
export function laneLayout(children: Record<string, string[]>, key: (id: string) => string): Map<string, { column: number; row: number }> {
  const lane = new Map<string, string>();
  const column = new Map<string, number>();
  const starts: string[] = [];
  const stack = [...(children[ROOT] ?? [])].reverse().map((id) => ({ id, depth: 0, lane: null as string | null }));
  while (stack.length > 0) {
    const next = stack.pop() as { id: string; depth: number; lane: string | null };
    const own = next.lane ?? next.id;
    if (next.lane === null) starts.push(next.id);
    lane.set(next.id, own);
    column.set(next.id, next.depth);
    const kids = children[next.id] ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ id: kids[i] as string, depth: next.depth + 1, lane: i === 0 ? own : null });
  }
  const keys = new Map(starts.map((id) => [id, key(id)]));
  starts.sort((a, b) => {
    const ka = keys.get(a) ?? '';
    const kb = keys.get(b) ?? '';
    return ka < kb ? -1 : ka > kb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
  const rowOf = new Map(starts.map((id, row) => [id, row]));
  const at = new Map<string, { column: number; row: number }>();
  for (const [id, start] of lane) at.set(id, { column: column.get(id) ?? 0, row: rowOf.get(start) ?? 0 });
  return at;
}

/** How a node is spoken: its kind, name and state ("Branch main, You are here"). */
export function spokenName(node: GraphNode, findings: number): string {
  const parts = [`${node.kind === 'branch' ? 'Branch' : 'Snapshot'} ${node.name}`];
  if (node.kind === 'branch' && node.current) parts.push('You are here');
  if (node.snapshot?.current === true) parts.push("libvirt's current snapshot");
  if (findings > 0) parts.push(findings === 1 ? '1 problem' : `${findings} problems`);
  return parts.join(', ');
}

/** Whether an open plan moves You are here to this node, or away from it. */
function hereOf(node: GraphNode, ghost: boolean, highlights: Highlights): Pick<SnapNodeData, 'here'> {
  if (highlights.hereAfter === null) return {};
  if (node.id === highlights.hereAfter) return { here: 'after' };
  return node.kind === 'branch' && node.current && !ghost ? { here: 'before' } : {};
}

/** One node as React Flow draws it, at its place in the layout. */
function flowNode(node: GraphNode, x: number, y: number, highlights: Highlights, findings: Record<string, string[]>, ghost: boolean): SnapFlowNode {
  const found = [...new Set(filesOf(node))].flatMap((p) => findings[p] ?? []);
  return {
    id: node.id,
    type: node.kind,
    position: { x, y },
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    handles: HANDLES,
    ariaRole: 'group',
    // A ghost is what the plan would make: named as such, never as the You are here of now.
    ariaLabel: ghost ? `${spokenName({ ...node, current: false }, 0)}, new in this plan${highlights.hereAfter === node.id ? ', You will be here' : ''}` : spokenName(node, found.length),
    data: { ...node, findings: found, mark: highlights.marks[node.id] ?? null, ghost, ...hereOf(node, ghost, highlights) },
  };
}

/** The node of a folded run. */
function runNode(run: Run, x: number, y: number, nameOf: (id: string) => string): RunFlowNode {
  const first = nameOf(run.hidden[0] as string);
  const last = nameOf(run.hidden[run.hidden.length - 1] as string);
  return {
    id: run.id,
    type: 'run',
    position: { x, y },
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    handles: HANDLES,
    ariaRole: 'group',
    ariaLabel: `${run.hidden.length} snapshots folded, ${first} to ${last}; Enter shows them`,
    data: { runId: run.id, count: run.hidden.length, first, last },
  };
}

/** The edge from a node's parent to the node, styled by the node's kind and whether it is a ghost; named in words. */
function flowEdge(node: GraphNode | null, id: string, parent: string, ghost: boolean, nameOf: (id: string) => string): Edge {
  return {
    id: `${parent}->${id}`,
    source: parent,
    target: id,
    type: 'smoothstep',
    focusable: false,
    ariaLabel: `From ${nameOf(parent)} to ${nameOf(id)}`,
    className: `${node?.kind === 'branch' ? 'edge-branch' : 'edge-snapshot'}${ghost ? ' edge-ghost' : ''}${node === null ? ' edge-run' : ''}`,
    ...(node?.current === true ? { animated: true } : {}),
  };
}

/** What must never be folded: You are here, libvirt's current snapshot, what a plan touches. */
function keepers(graphNodes: GraphNode[], highlights: Highlights, usedBy: ReadonlyMap<string, readonly string[]>): Set<string> {
  const keep = new Set([...Object.keys(highlights.marks), ...usedBy.keys()]);
  for (const node of graphNodes) if (node.current || node.snapshot?.current === true) keep.add(node.id);
  for (const ghost of highlights.ghosts) {
    keep.add(ghost.id);
    if (ghost.parentId !== null) keep.add(ghost.parentId);
  }
  return keep;
}

/** The drawn tree's links (runs included) from the folded children lists. */
function drawnLinks(folded: Folded): TreeLinks {
  const parentOf: Record<string, string | null> = {};
  const childrenOf: Record<string, string[]> = {};
  for (const [id, kids] of Object.entries(folded.children)) {
    if (id !== ROOT) childrenOf[id] = kids;
    for (const kid of kids) parentOf[kid] = id === ROOT ? null : id;
  }
  return { parentOf, childrenOf };
}

/** Lays out a domain's snapshot graph (with a plan's ghosts) as React Flow nodes and edges; any parent loop is cut. */
export function toFlow(domain: Domain, highlights: Highlights = NO_HIGHLIGHTS, findings: Record<string, string[]> = findingsByPath(domain, undefined), options: FlowOptions = {}): FlowGraph {
  const ghostIds = new Set(highlights.ghosts.map((g) => g.id));
  const graphNodes = [...snapshotGraph(domain), ...highlights.ghosts];
  const byId = new Map(graphNodes.map((n) => [n.id, n]));
  const tree = linkNodes(graphNodes, byId);
  const laidTree = cutToTree(graphNodes, tree);
  delete tree.childrenOf[ROOT];
  const folded = foldRuns({
    root: ROOT,
    children: laidTree,
    isSnapshot: (id) => byId.get(id)?.kind === 'snapshot' && !ghostIds.has(id),
    keep: keepers(graphNodes, highlights, options.usedBy ?? new Map()),
    expanded: options.expanded ?? new Set(),
  });
  const { parentOf, childrenOf } = drawnLinks(folded);
  const places = laneLayout(folded.children, (id) => laneKey(id, byId, tree.parentOf));

  const nodes: FlowNode[] = [];
  const edges: Edge[] = [];
  const nameOf = (id: string) => byId.get(id)?.name ?? (folded.runs[id] !== undefined ? `${folded.runs[id].hidden.length} folded snapshots` : id);
  for (const [id, place] of places) {
    const x = place.column * COLUMN;
    const y = place.row * ROW;
    const node = byId.get(id) ?? null;
    const ghost = ghostIds.has(id);
    const run = folded.runs[id];
    if (node !== null) {
      const flow = flowNode(node, x, y, highlights, findings, ghost);
      if (node.current && !ghost && (domain.state === 'running' || domain.state === 'paused')) {
        flow.data.vmState = domain.state;
        flow.ariaLabel = `${flow.ariaLabel ?? ''}, ${domain.state}`;
      }
      const users = ghost ? undefined : options.usedBy?.get(id);
      if (users !== undefined && users.length > 0) {
        flow.data.usedBy = [...users];
        flow.ariaLabel = `${flow.ariaLabel ?? ''}, used by ${users.length === 1 ? 'clone' : 'clones'} ${users.join(', ')}`;
      }
      nodes.push(flow);
    } else if (run !== undefined) nodes.push(runNode(run, x, y, nameOf));
    const parent = parentOf[id] ?? null;
    if (parent !== null) edges.push(flowEdge(node, id, parent, ghost, nameOf));
  }
  edges.push(...sharedBaseEdges(domain, graphNodes.filter((n) => places.has(n.id)), parentOf));

  const order = nodes
    .map((n) => n.id)
    .sort((a, b) => {
      const pa = places.get(a) as { column: number; row: number };
      const pb = places.get(b) as { column: number; row: number };
      return pa.row - pb.row || pa.column - pb.column;
    });
  return { nodes, edges, order, parentOf, childrenOf, tree, treeOrder: depthFirst(laidTree), hiddenIn: folded.hiddenIn, graphNodes };
}

/** The node a keyboard arrow moves to from `from`: left to the parent, right to a child, up and down to siblings. */
export function moveFocus(graph: FlowGraph, from: string | null, key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown'): string | null {
  if (from === null || graph.parentOf[from] === undefined) return graph.order[0] ?? null;
  if (key === 'ArrowLeft') return graph.parentOf[from] ?? from;
  if (key === 'ArrowRight') return graph.childrenOf[from]?.[0] ?? from;
  const parent = graph.parentOf[from];
  const siblings = parent === null || parent === undefined ? graph.order.filter((id) => graph.parentOf[id] === null) : (graph.childrenOf[parent] ?? []);
  const at = siblings.indexOf(from);
  const next = key === 'ArrowUp' ? siblings[at - 1] : siblings[at + 1];
  if (next !== undefined) return next;
  // At the end of a sibling list, move through the whole tree in reading order instead.
  const i = graph.order.indexOf(from);
  return graph.order[key === 'ArrowUp' ? i - 1 : i + 1] ?? from;
}
