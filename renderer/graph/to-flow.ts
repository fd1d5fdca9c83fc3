/**
 * Pure mapping from a domain's snapshot graph to React Flow nodes and edges, laid out as a tree with the root
 * at the left. Snapshot trees are trees, so d3-hierarchy's tidy tree lays out thousands of nodes in
 * milliseconds. Width and height are set from the layout so that off-screen culling works from the first frame.
 */
import { hierarchy, tree, type HierarchyPointNode } from 'd3-hierarchy';
import type { Edge, Node } from '@xyflow/react';
import type { Domain } from '../../shared/model';
import { snapshotGraph, type GraphNode } from '../../shared/snapshot-graph';
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
  [key: string]: unknown;
};

export type SnapFlowNode = Node<SnapNodeData, 'snapshot' | 'branch'>;

export interface FlowGraph {
  nodes: SnapFlowNode[];
  edges: Edge[];
  /** Node ids in reading order (top to bottom, then left to right), for keyboard movement. */
  order: string[];
  parentOf: Record<string, string | null>;
  childrenOf: Record<string, string[]>;
}

const ROOT = '\0root';
const HANDLES = sideHandles(NODE_WIDTH, NODE_HEIGHT);

function filesOf(node: GraphNode): string[] {
  if (node.snapshot) return node.snapshot.disks.flatMap((d) => [d.stateLayer, d.overlay]).filter((p): p is string => p !== null);
  return node.branch?.tips.map((t) => t.file) ?? [];
}

/** Children in a stable order: snapshots by creation time, then branches, the current branch last. */
function rank(node: GraphNode): string {
  if (node.kind === 'snapshot') return `0${node.snapshot?.created ?? ''}${node.name}`;
  return `${node.current ? '2' : '1'}${node.name}`;
}

/** Each node's parent and its children in rank order, with the roots listed under ROOT. */
function linkNodes(graphNodes: GraphNode[], byId: Map<string, GraphNode>): Pick<FlowGraph, 'parentOf' | 'childrenOf'> {
  const childrenOf: Record<string, string[]> = {};
  const parentOf: Record<string, string | null> = {};
  for (const node of graphNodes) {
    parentOf[node.id] = node.parentId;
    const key = node.parentId ?? ROOT;
    (childrenOf[key] ??= []).push(node.id);
  }
  for (const list of Object.values(childrenOf)) {
    list.sort((a, b) => rank(byId.get(a) as GraphNode).localeCompare(rank(byId.get(b) as GraphNode)));
  }
  return { parentOf, childrenOf };
}

/**
 * The tree d3 lays out, each node in it once; `parentOf` and `childrenOf` are brought in line with it. snapshotGraph
 * cuts loops of parents, but ghosts and duplicate ids come from elsewhere: d3 would recurse without end on a node
 * reached twice and drop one never reached from the roots (a loop), so the second visit is skipped and an
 * unreached node hangs off the root.
 */
function cutToTree(graphNodes: GraphNode[], links: Pick<FlowGraph, 'parentOf' | 'childrenOf'>): Record<string, string[]> {
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

/** One node as React Flow draws it, at its place in the layout. */
function flowNode(node: GraphNode, x: number, y: number, highlights: Highlights, findings: Record<string, string[]>, ghost: boolean): SnapFlowNode {
  return {
    id: node.id,
    type: node.kind,
    position: { x, y },
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    handles: HANDLES,
    data: {
      ...node,
      findings: [...new Set(filesOf(node))].flatMap((p) => findings[p] ?? []),
      mark: highlights.marks[node.id] ?? null,
      ghost,
    },
  };
}

/** The edge from a node's parent to the node, styled by the node's kind and whether it is a ghost. */
function flowEdge(node: GraphNode, parent: string, ghost: boolean): Edge {
  return {
    id: `${parent}->${node.id}`,
    source: parent,
    target: node.id,
    type: 'smoothstep',
    className: `${node.kind === 'branch' ? 'edge-branch' : 'edge-snapshot'}${ghost ? ' edge-ghost' : ''}`,
    ...(node.current ? { animated: true } : {}),
  };
}

/** Lays out a domain's snapshot graph (with a plan's ghosts) as React Flow nodes and edges; any parent loop is cut. */
export function toFlow(domain: Domain, highlights: Highlights = NO_HIGHLIGHTS, findings: Record<string, string[]> = findingsByPath(domain, undefined)): FlowGraph {
  const ghostIds = new Set(highlights.ghosts.map((g) => g.id));
  const graphNodes = [...snapshotGraph(domain), ...highlights.ghosts];
  const byId = new Map(graphNodes.map((n) => [n.id, n]));
  const links = linkNodes(graphNodes, byId);
  const { parentOf, childrenOf } = links;
  const laidTree = cutToTree(graphNodes, links);
  const root = hierarchy<string>(ROOT, (id) => laidTree[id] ?? []);
  const laid: HierarchyPointNode<string> = tree<string>().nodeSize([ROW, COLUMN]).separation(() => 1)(root);

  const nodes: SnapFlowNode[] = [];
  const edges: Edge[] = [];
  const placed: Array<{ id: string; x: number; y: number }> = [];
  laid.each((point) => {
    if (point.data === ROOT) return;
    const node = byId.get(point.data) as GraphNode;
    const ghost = ghostIds.has(node.id);
    // d3 lays trees out top-down; swapping axes puts the root at the left.
    const x = (point.depth - 1) * COLUMN;
    const y = point.x;
    placed.push({ id: node.id, x, y });
    const flow = flowNode(node, x, y, highlights, findings, ghost);
    if (node.current && !ghost && (domain.state === 'running' || domain.state === 'paused')) flow.data.vmState = domain.state;
    nodes.push(flow);
    const parent = parentOf[node.id] ?? null;
    if (parent !== null) edges.push(flowEdge(node, parent, ghost));
  });

  const order = placed.sort((a, b) => a.y - b.y || a.x - b.x).map((p) => p.id);
  for (const id of Object.keys(childrenOf)) if (id === ROOT) delete childrenOf[id];
  return { nodes, edges, order, parentOf, childrenOf };
}

/** The node a keyboard arrow moves to from `from`: left to the parent, right to a child, up and down to siblings. */
export function moveFocus(graph: FlowGraph, from: string | null, key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown'): string | null {
  if (from === null || graph.parentOf[from] === undefined) return graph.order[0] ?? null;
  if (key === 'ArrowLeft') return graph.parentOf[from] ?? from;
  if (key === 'ArrowRight') {
    const kids = graph.childrenOf[from] ?? [];
    return kids[Math.floor((kids.length - 1) / 2)] ?? from;
  }
  const parent = graph.parentOf[from];
  const siblings = parent === null || parent === undefined ? graph.order.filter((id) => graph.parentOf[id] === null) : (graph.childrenOf[parent] ?? []);
  const at = siblings.indexOf(from);
  const next = key === 'ArrowUp' ? siblings[at - 1] : siblings[at + 1];
  if (next !== undefined) return next;
  // At the end of a sibling list, move through the whole tree in reading order instead.
  const i = graph.order.indexOf(from);
  return graph.order[key === 'ArrowUp' ? i - 1 : i + 1] ?? from;
}
