/**
 * Lays out the file view: one box per image file, grouped per disk, each file right of the file it is built on.
 * A file has at most one backing file, so the backing links form a forest and d3-hierarchy's tidy tree lays out
 * thousands of files in milliseconds, on the page (ELK's layered layout took seconds at 2,000 files). A shared
 * base may sit in another disk's group than the files built on it; columns are therefore counted over the whole
 * forest, so a link between groups still runs left to right, and groups are stacked top to bottom.
 */
import type { Edge, Node } from '@xyflow/react';
import { hierarchy, tree, type HierarchyPointNode } from 'd3-hierarchy';
import type { FileGraph, FileNode, FileGroup } from '../../shared/file-graph';
import { sideHandles } from './handles';
import type { Mark } from './highlights';

export const FILE_WIDTH = 280;
export const FILE_HEIGHT = 120;
const FILE_HANDLES = sideHandles(FILE_WIDTH, FILE_HEIGHT);
const COLUMN = FILE_WIDTH + 80;
const ROW = FILE_HEIGHT + 28;
const PAD = { top: 44, left: 20, bottom: 20, right: 20 };
const GROUP_GAP = 32;
/** The unseen root of a group's tree, and the placeholders that push a tree's root to its column. */
const TOP = '\0top';
const spacer = (column: number) => `\0column ${column}`;

export type FileNodeData = FileNode & { findings: string[]; mark: Mark | null; side?: 'A' | 'B' | null; [key: string]: unknown };
export type GroupNodeData = FileGroup & { count: number; [key: string]: unknown };
export type FileFlowNode = Node<FileNodeData, 'file'> | Node<GroupNodeData, 'disk'>;

export interface FileFlow {
  nodes: FileFlowNode[];
  edges: Edge[];
}

/**
 * Each file's column: how many backing links lead from it down to a base. A loop of backing links (a broken
 * image set) is cut where the walk first comes back, so the file found there counts as a base.
 */
function columnsOf(graph: FileGraph, ids: Set<string>): { backing: Map<string, string>; column: Map<string, number> } {
  const backing = new Map<string, string>();
  for (const edge of graph.edges) if (ids.has(edge.source) && !backing.has(edge.target)) backing.set(edge.target, edge.source);
  const column = new Map<string, number>();
  for (const node of graph.nodes) {
    const path: string[] = [];
    const onPath = new Set<string>();
    let at: string | undefined = node.id;
    while (at !== undefined && !column.has(at)) {
      if (onPath.has(at)) {
        backing.delete(at);
        column.set(at, 0);
        break;
      }
      path.push(at);
      onPath.add(at);
      at = backing.get(at);
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const id = path[i] as string;
      if (column.has(id)) continue;
      const below = backing.get(id);
      column.set(id, below === undefined ? 0 : (column.get(below) ?? 0) + 1);
    }
  }
  return { backing, column };
}

/** One group's forest for d3: each file under its backing file in the group, or under spacers up to its column. */
function groupTree(files: FileNode[], groupId: string, byId: Map<string, FileNode>, backing: Map<string, string>, column: Map<string, number>, first: number): Map<string, string[]> {
  // Children in the model's order (disks, then files as the scan lists them), which keeps the drawing steady
  // between scans. A tree's root hangs below a chain of placeholders, one per column left of it within the
  // group, so the tidy tree's depth is the file's column and trees in different columns pack without overlap.
  const kids = new Map<string, string[]>();
  const add = (parent: string, child: string) => {
    const list = kids.get(parent);
    if (list === undefined) kids.set(parent, [child]);
    else list.push(child);
  };
  for (const file of files) {
    const below = backing.get(file.id);
    if (below !== undefined && byId.get(below)?.group === groupId) {
      add(below, file.id);
      continue;
    }
    let parent = TOP;
    for (let c = first; c < (column.get(file.id) ?? 0); c++) {
      if (!kids.has(spacer(c))) add(parent, spacer(c));
      parent = spacer(c);
    }
    add(parent, file.id);
  }
  return kids;
}

/** A group's box and its files' boxes inside it, pushed onto `nodes`; returns the group's height. */
function placeGroup(nodes: FileFlowNode[], group: FileGroup, points: Array<HierarchyPointNode<string>>, at: { x: number; y: number }, byId: Map<string, FileNode>, findings: Record<string, string[]>, marks: Record<string, Mark>): number {
  let [top, bottom, last] = [Infinity, -Infinity, 0];
  for (const p of points) [top, bottom, last] = [Math.min(top, p.x), Math.max(bottom, p.x), Math.max(last, p.depth)];
  const height = PAD.top + bottom - top + FILE_HEIGHT + PAD.bottom;
  // d3 lays trees out top-down; swapping axes puts the bases at the left.
  nodes.push({
    id: `group:${group.id}`,
    type: 'disk',
    position: at,
    width: PAD.left + (last - 1) * COLUMN + FILE_WIDTH + PAD.right,
    height,
    data: { ...group, count: points.length },
    selectable: false,
    handles: [],
  });
  for (const point of points) {
    const file = byId.get(point.data) as FileNode;
    nodes.push({
      id: file.id,
      type: 'file',
      parentId: `group:${group.id}`,
      position: { x: PAD.left + (point.depth - 1) * COLUMN, y: PAD.top + point.x - top },
      width: FILE_WIDTH,
      height: FILE_HEIGHT,
      handles: FILE_HANDLES,
      data: { ...file, findings: findings[file.path] ?? [], mark: marks[file.path] ?? null },
    });
  }
  return height;
}

/**
 * The file view as React Flow nodes and edges: groups first (parents before children), each holding its files.
 * Within a group, a file whose backing file is in the same group hangs off it in a tidy tree; the others start
 * their own tree in their column, and all of a group's trees are packed by one tidy-tree pass so that no two
 * files meet. Files listed in no group are left out.
 */
export function layoutFiles(graph: FileGraph, findings: Record<string, string[]> = {}, marks: Record<string, Mark> = {}): FileFlow {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const { backing, column } = columnsOf(graph, new Set(byId.keys()));
  const nodes: FileFlowNode[] = [];
  let y = 0;
  for (const group of graph.groups) {
    // One box per id: were an id listed twice, the last listing is the one drawn.
    const files = graph.nodes.filter((n) => n.group === group.id && byId.get(n.id) === n);
    if (files.length === 0) continue;
    const first = files.reduce((min, f) => Math.min(min, column.get(f.id) ?? 0), Infinity);
    const kids = groupTree(files, group.id, byId, backing, column, first);
    const laid = tree<string>()
      .nodeSize([ROW, COLUMN])
      .separation((a, b) => (a.parent === b.parent ? 1 : 1.25))(hierarchy(TOP, (id) => kids.get(id) ?? []));
    const points = laid.descendants().filter((p) => byId.has(p.data));
    y += placeGroup(nodes, group, points, { x: first * COLUMN, y }, byId, findings, marks) + GROUP_GAP;
  }
  const edges: Edge[] = graph.edges.map((e) => ({
    id: e.id,
    source: e.source,
    target: e.target,
    type: 'smoothstep',
    className: e.trash ? 'edge-file edge-trash' : 'edge-file',
  }));
  return { nodes, edges };
}
