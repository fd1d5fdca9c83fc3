/**
 * Lays out the file view with ELK's layered algorithm in a Web Worker: shared bases make the backing graph a
 * DAG, which a tree layout cannot draw, and a big DAG must not freeze the window while it is laid out. Files are
 * grouped per disk (ELK compound nodes, which become React Flow parent nodes); bases sit at the left.
 */
import type { Edge, Node } from '@xyflow/react';
import ELK, { type ElkNode } from 'elkjs/lib/elk-api.js';
import workerUrl from 'elkjs/lib/elk-worker.min.js?url';
import type { FileGraph, FileNode, FileGroup } from '../../shared/file-graph';
import { sideHandles } from './handles';
import type { Mark } from './highlights';

export const FILE_WIDTH = 240;
export const FILE_HEIGHT = 92;
const FILE_HANDLES = sideHandles(FILE_WIDTH, FILE_HEIGHT);
const GROUP_PADDING = '[top=44,left=20,bottom=20,right=20]';

export type FileNodeData = FileNode & { findings: string[]; mark: Mark | null; side?: 'A' | 'B' | null; [key: string]: unknown };
export type GroupNodeData = FileGroup & { count: number; [key: string]: unknown };
export type FileFlowNode = Node<FileNodeData, 'file'> | Node<GroupNodeData, 'disk'>;

export interface FileFlow {
  nodes: FileFlowNode[];
  edges: Edge[];
}

/** The worker could not start (a page whose scheme forbids workers): layouts then run on the page itself. */
class WorkerFailed extends Error {}

let elk: { engine: InstanceType<typeof ELK>; failed: Promise<never> } | null = null;
let inline = false;

/** One ELK for the page, its worker started on first use; `failed` rejects if the worker cannot run. */
function engine(): NonNullable<typeof elk> {
  if (elk !== null) return elk;
  let fail: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => (fail = reject));
  failed.catch(() => undefined);
  const engine = new ELK({
    workerFactory: () => {
      const worker = new Worker(workerUrl);
      worker.addEventListener('error', (event) => fail(new WorkerFailed(event.message || 'the layout worker did not start')));
      return worker;
    },
  });
  elk = { engine, failed };
  return elk;
}

/** Bases at the left, each file right of the file it builds on; set on every level, as ELK reads them per graph. */
const LAYERED = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.spacing.nodeNode': '28',
  'elk.layered.spacing.nodeNodeBetweenLayers': '80',
  'elk.spacing.componentComponent': '40',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
};

export function toElk(graph: FileGraph): ElkNode {
  return {
    id: 'root',
    // Keeping the model's order (disks, then files as the scan lists them) holds the drawing steady between scans;
    // ELK accepts it on the root only.
    layoutOptions: { ...LAYERED, 'elk.hierarchyHandling': 'INCLUDE_CHILDREN', 'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES' },
    children: graph.groups.map((group) => ({
      id: `group:${group.id}`,
      layoutOptions: { ...LAYERED, 'elk.padding': GROUP_PADDING },
      children: graph.nodes.filter((n) => n.group === group.id).map((n) => ({ id: n.id, width: FILE_WIDTH, height: FILE_HEIGHT })),
    })),
    edges: graph.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
}

/** React Flow nodes from ELK's answer: groups first (parents before children), files inside them. */
export function fromElk(graph: FileGraph, laid: ElkNode, findings: Record<string, string[]>, marks: Record<string, Mark> = {}): FileFlow {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const nodes: FileFlowNode[] = [];
  let y = 0;
  for (const group of laid.children ?? []) {
    const info = graph.groups.find((g) => `group:${g.id}` === group.id);
    if (info === undefined) continue;
    // Groups are stacked top to bottom in disk order, whatever ELK packed them as.
    nodes.push({
      id: group.id,
      type: 'disk',
      position: { x: 0, y },
      width: group.width ?? 0,
      height: group.height ?? 0,
      data: { ...info, count: group.children?.length ?? 0 },
      selectable: false,
      handles: [],
    });
    for (const child of group.children ?? []) {
      const file = byId.get(child.id);
      if (file === undefined) continue;
      nodes.push({
        id: file.id,
        type: 'file',
        parentId: group.id,
        position: { x: child.x ?? 0, y: child.y ?? 0 },
        width: FILE_WIDTH,
        height: FILE_HEIGHT,
        handles: FILE_HANDLES,
        data: { ...file, findings: findings[file.path] ?? [], mark: marks[file.path] ?? null },
      });
    }
    y += (group.height ?? 0) + 32;
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

/** Lays the graph out off the main thread, or on it where no worker can run. */
export async function layoutFiles(graph: FileGraph): Promise<ElkNode> {
  if (!inline) {
    let started: NonNullable<typeof elk> | null = null;
    try {
      started = engine();
    } catch {
      // No Worker here, or the page may not start one.
    }
    if (started !== null) {
      try {
        return await Promise.race([started.engine.layout(toElk(graph)), started.failed]);
      } catch (error) {
        if (!(error instanceof WorkerFailed)) throw error;
      }
    }
    inline = true;
  }
  const { default: InlineElk } = await import('elkjs/lib/elk.bundled.js');
  return new InlineElk().layout(toElk(graph));
}
