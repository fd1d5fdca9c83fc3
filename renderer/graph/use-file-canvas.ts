/**
 * The file view's canvas, in hooks: every image file of the domain laid out per disk (file-layout.ts), the
 * selection and comparison sides on it, the shared keymap (keymap.ts) done on files, and what clicks do.
 */
import { useReactFlow, type NodeMouseHandler } from '@xyflow/react';
import { useCallback, useEffect, useMemo } from 'react';
import { fileGraph, type FileGraph } from '../../shared/file-graph';
import type { Domain, ScanResult } from '../../shared/model';
import { useAppActions, useAppStore } from '../store/context';
import { selectComparePick, selectComparison, selectFileId, selectHealth, selectInspectActions, selectMenu, selectOpsActions, selectTrash } from '../store/selectors';
import { canvasKeyDown } from './canvas-keys';
import { FILE_HEIGHT, FILE_WIDTH, layoutFiles, type FileFlow, type FileFlowNode, type FileNodeData } from './file-layout';
import type { Box } from './framing';
import { findingsByPath } from './health';
import { mark, markAfterPaint } from './marks';
import { READABLE_ZOOM } from './framing';

export type FileBox = Box & { id: string; current: boolean };

/** The domain's files (its trash too) as a graph, and laid out. */
export function useFileFlow(scan: ScanResult, domain: Domain): { graph: FileGraph; flow: FileFlow } {
  const trash = useAppStore(selectTrash);
  const health = useAppStore(selectHealth);
  const domainTrash = useMemo(() => trash.filter((t) => t.domain === null || t.domain === domain.name), [trash, domain.name]);
  const graph = useMemo(() => fileGraph(scan, domain, domainTrash), [scan, domain, domainTrash]);
  const findings = useMemo(() => findingsByPath(domain, health?.report), [domain, health]);
  // Laid out during the render: a tidy tree of thousands of files takes milliseconds, less than handing them to a worker.
  const flow = useMemo(() => {
    mark('files-layout-start');
    return layoutFiles(graph, findings);
  }, [graph, findings]);
  useEffect(() => markAfterPaint('files-painted'), [flow]);
  return { graph, flow };
}

/** The nodes with the selected file ringed and the two sides of an open comparison marked A and B. */
export function useSelectedFiles(flow: FileFlow): FileFlowNode[] {
  const fileId = useAppStore(selectFileId);
  const comparison = useAppStore(selectComparison);
  const sideA = comparison?.a ?? null;
  const sideB = comparison?.b ?? null;
  return useMemo(
    () =>
      flow.nodes.map((n) => {
        if (n.type !== 'file') return n;
        const id = `f:${n.id}`;
        const side: FileNodeData['side'] = id === sideA ? 'A' : id === sideB ? 'B' : null;
        return n.id === fileId || side !== null ? { ...n, selected: n.id === fileId, data: { ...n.data, side } } : n;
      }),
    [flow, fileId, sideA, sideB],
  );
}

/** Each file's box on the page (disk groups place their files), and the files in reading order for Up and Down. */
export function useFileBoxes(flow: FileFlow): { boxes: FileBox[]; order: string[] } {
  return useMemo(() => {
    const origin = new Map(flow.nodes.filter((n) => n.type === 'disk').map((n) => [n.id, n.position]));
    const boxes = flow.nodes
      .filter((n) => n.type === 'file')
      .map((n) => {
        const at = origin.get(n.parentId ?? '');
        return { id: n.id, current: n.data.current, x: n.position.x + (at?.x ?? 0), y: n.position.y + (at?.y ?? 0), width: FILE_WIDTH, height: FILE_HEIGHT };
      });
    // Reading order: disk by disk, top to bottom, then left to right.
    const order = [...boxes].sort((a, b) => a.y - b.y || a.x - b.x).map((b) => b.id);
    return { boxes, order };
  }, [flow]);
}

/**
 * The last file reached from `from` following its backing files ('down') or the files built on it ('up'); going up
 * through a fork, the branch that leads to `prefer` (the file the domain runs on) is taken when there is one.
 */
export function chainEnd(edges: readonly { source: string; target: string }[], from: string | undefined, way: 'down' | 'up', prefer?: string): string | undefined {
  if (from === undefined) return undefined;
  const seen = new Set<string>([from]);
  const reaches = (id: string): boolean => {
    const stack = [id];
    const visited = new Set<string>();
    for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
      if (at === prefer) return true;
      if (visited.has(at)) continue;
      visited.add(at);
      for (const e of edges) if (e.source === at) stack.push(e.target);
    }
    return false;
  };
  let at = from;
  for (;;) {
    const next = way === 'down' ? edges.filter((e) => e.target === at).map((e) => e.source) : edges.filter((e) => e.source === at).map((e) => e.target);
    const step = next.find((id) => !seen.has(id) && reaches(id)) ?? next.find((id) => !seen.has(id));
    if (step === undefined) return at;
    seen.add(step);
    at = step;
  }
}

/** The file view's keys: the shared keymap, done on files. Left goes to the file a file is built on, Right to one built on it. */
export function useFileKeys(graph: FileGraph, flow: FileFlow, { boxes, order }: { boxes: FileBox[]; order: string[] }, fitAll: () => void) {
  const fileId = useAppStore(selectFileId);
  const comparePick = useAppStore(selectComparePick);
  const comparing = useAppStore(selectComparison) !== null;
  const menuOpen = useAppStore(selectMenu) !== null;
  const { closeMenu } = useAppActions(selectOpsActions);
  const { selectFile, cancelComparePick, closeComparison, compare, setView } = useAppActions(selectInspectActions);
  const view = useReactFlow();
  const moveTo = (id: string | undefined) => {
    const box = boxes.find((b) => b.id === id);
    if (id === undefined || box === undefined) return;
    selectFile(id);
    void view.setCenter(box.x + box.width / 2, box.y + box.height / 2, { zoom: Math.max(view.getZoom(), READABLE_ZOOM), duration: 200 });
  };
  const current = boxes.find((b) => b.current)?.id;
  const canCompare = comparePick !== null && fileId !== null && Boolean(graph.nodes.find((n) => n.id === fileId)?.layer);
  const state = { menuOpen, picking: comparePick !== null, canCompare, comparing, selected: fileId !== null, hasMenu: false };
  return canvasKeyDown(state, {
    closeMenu,
    cancelPick: cancelComparePick,
    closeComparison,
    clearSelection: () => selectFile(null),
    move: (direction) => {
      if (fileId === null) moveTo(order[0]);
      else if (direction === 'left') moveTo(flow.edges.find((e) => e.target === fileId)?.source);
      else if (direction === 'right') moveTo(flow.edges.find((e) => e.source === fileId)?.target);
      else moveTo(order[order.indexOf(fileId) + (direction === 'down' ? 1 : -1)]);
    },
    // As in the snapshot graph: Home to the base of the chain, End to its top (You are here when nothing is selected).
    home: () => moveTo(chainEnd(flow.edges, fileId ?? current, 'down')),
    end: () => moveTo(fileId === null ? current : chainEnd(flow.edges, fileId, 'up', current)),
    compare: () => {
      if (comparePick !== null && fileId !== null) void compare(comparePick, `f:${fileId}`);
    },
    openMenu: () => undefined,
    switchView: () => setView('snapshots'),
    fit: fitAll,
  });
}

/** Clicks on files: select one, or pick the other side of a comparison. */
export function useFilePointer(focus: () => void) {
  const comparePick = useAppStore(selectComparePick);
  const { selectFile, compare } = useAppActions(selectInspectActions);
  const onNodeClick: NodeMouseHandler<FileFlowNode> = useCallback(
    (_event, node) => {
      if (node.type !== 'file') return;
      focus();
      if (comparePick !== null) {
        if (node.data.layer !== null && `f:${node.id}` !== comparePick) void compare(comparePick, `f:${node.id}`);
        return;
      }
      selectFile(node.id);
    },
    [selectFile, comparePick, compare, focus],
  );
  const onPaneClick = useCallback(() => selectFile(null), [selectFile]);
  return { onNodeClick, onPaneClick };
}
