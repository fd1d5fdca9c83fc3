import { Background, Controls, ReactFlow, ReactFlowProvider, useReactFlow, type NodeMouseHandler, type NodeTypes } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, type KeyboardEvent, type ReactElement } from 'react';
import { fileGraph } from '../../shared/file-graph';
import type { Domain, ScanResult } from '../../shared/model';
import { FILE_HEIGHT, FILE_WIDTH, layoutFiles, type FileFlowNode, type FileNodeData } from '../graph/file-layout';
import { findingsByPath } from '../graph/health';
import { mark, markAfterPaint } from '../graph/marks';
import { useFraming, VIEW_ONLY } from '../graph/use-framing';
import { useAppStore } from '../store/context';
import { selectTheme } from '../store/selectors';
import type { AppState } from '../store/store';
import { CanvasMiniMap } from './CanvasMiniMap';
import { DiskGroup, FileNode } from './FileNode';
import { PickBanner } from './PickBanner';
import { nodeLabel } from './node-label';

const nodeTypes: NodeTypes = { file: FileNode, disk: DiskGroup };
const FIT = { padding: 0.15, maxZoom: 1.1 } as const;

const selectTrash = (s: AppState) => s.trash;
const selectHealth = (s: AppState) => s.health;
const selectFileId = (s: AppState) => s.fileId;
const selectSelectFile = (s: AppState) => s.selectFile;
const selectComparison = (s: AppState) => s.comparison;
const selectComparePick = (s: AppState) => s.comparePick;
const selectCompare = (s: AppState) => s.compare;
const selectCancelPick = (s: AppState) => s.cancelComparePick;
const selectCloseComparison = (s: AppState) => s.closeComparison;
const selectSetView = (s: AppState) => s.setView;
const minimapColor = (node: FileFlowNode): string =>
  node.type === 'disk' ? 'transparent' : node.data.current ? 'var(--accent)' : node.data.role === 'trash' ? 'var(--error)' : 'var(--node-border-strong)';

function Canvas({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  const theme = useAppStore(selectTheme);
  const trash = useAppStore(selectTrash);
  const health = useAppStore(selectHealth);
  const fileId = useAppStore(selectFileId);
  const selectFile = useAppStore(selectSelectFile);
  const comparison = useAppStore(selectComparison);
  const comparePick = useAppStore(selectComparePick);
  const compare = useAppStore(selectCompare);
  const cancelPick = useAppStore(selectCancelPick);
  const closeComparison = useAppStore(selectCloseComparison);
  const setView = useAppStore(selectSetView);
  const wrapper = useRef<HTMLDivElement>(null);

  const domainTrash = useMemo(() => trash.filter((t) => t.domain === null || t.domain === domain.name), [trash, domain.name]);
  const graph = useMemo(() => fileGraph(scan, domain, domainTrash), [scan, domain, domainTrash]);
  const findings = useMemo(() => findingsByPath(domain, health?.report), [domain, health]);
  // Laid out during the render: a tidy tree of thousands of files takes milliseconds, less than handing them to a worker.
  const flowGraph = useMemo(() => {
    mark('files-layout-start');
    return layoutFiles(graph, findings);
  }, [graph, findings]);
  useEffect(() => markAfterPaint('files-painted'), [flowGraph]);
  const sides = useMemo(() => ({ A: comparison?.a ?? null, B: comparison?.b ?? null }), [comparison]);
  const nodes = useMemo(
    () =>
      flowGraph.nodes.map((n) => {
        if (n.type !== 'file') return n;
        const id = `f:${n.id}`;
        const side = id === sides.A ? 'A' : id === sides.B ? 'B' : null;
        return n.id === fileId || side !== null ? { ...n, selected: n.id === fileId, data: { ...n.data, side: side as FileNodeData['side'] } } : n;
      }),
    [flowGraph, fileId, sides],
  );

  // Opens the files whole when they can be read so, else at the file the VM writes (see framing.ts); F fits.
  const boxes = useMemo(() => {
    const all = flowGraph.nodes;
    const origin = new Map(all.filter((n) => n.type === 'disk').map((n) => [n.id, n.position]));
    return all
      .filter((n) => n.type === 'file')
      .map((n) => ({ id: n.id, current: n.data.current, x: n.position.x + (origin.get(n.parentId ?? '')?.x ?? 0), y: n.position.y + (origin.get(n.parentId ?? '')?.y ?? 0), width: FILE_WIDTH, height: FILE_HEIGHT }));
  }, [flowGraph]);
  const focus = useMemo(() => boxes.find((b) => b.current) ?? null, [boxes]);
  const { frameRef, fitAll, roomy } = useFraming(wrapper, boxes, focus, FIT);
  // Frame the files once they are first laid out for this domain.
  const framedFor = useRef<string | null>(null);
  useEffect(() => {
    if (framedFor.current === domain.name) return;
    const frame = requestAnimationFrame(() => {
      framedFor.current = domain.name;
      frameRef.current();
    });
    return () => cancelAnimationFrame(frame);
  }, [flowGraph, domain.name, frameRef]);
  // Picking the other side of a comparison happens on the graph: take the keyboard there.
  useEffect(() => {
    if (comparePick !== null) wrapper.current?.focus();
  }, [comparePick]);

  // Reading order for Up and Down: disk by disk, top to bottom, then left to right.
  const order = useMemo(() => {
    const at = new Map(boxes.map((b) => [b.id, b]));
    return [...at.values()].sort((a, b) => a.y - b.y || a.x - b.x).map((b) => b.id);
  }, [boxes]);
  const flow = useReactFlow();
  /** Selects a file and brings it into view: Left goes to the file it is built on, Right to one built on it. */
  const moveTo = useCallback(
    (id: string | undefined) => {
      const box = boxes.find((b) => b.id === id);
      if (id === undefined || box === undefined) return;
      selectFile(id);
      void flow.setCenter(box.x + box.width / 2, box.y + box.height / 2, { zoom: Math.max(flow.getZoom(), 0.6), duration: 200 });
    },
    [boxes, flow, selectFile],
  );
  const pickName = comparePick === null ? '' : nodeLabel(domain, comparePick);
  const onKeyDown = useCallback(
    (event: KeyboardEvent<HTMLDivElement>) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp' || event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
        event.preventDefault();
        const edges = flowGraph.edges;
        if (fileId === null) moveTo(order[0]);
        else if (event.key === 'ArrowLeft') moveTo(edges.find((e) => e.target === fileId)?.source);
        else if (event.key === 'ArrowRight') moveTo(edges.find((e) => e.source === fileId)?.target);
        else moveTo(order[order.indexOf(fileId) + (event.key === 'ArrowDown' ? 1 : -1)]);
      } else if (event.key === 'Enter' && comparePick !== null && fileId !== null && graph.nodes.find((n) => n.id === fileId)?.layer) {
        event.preventDefault();
        void compare(comparePick, `f:${fileId}`);
      } else if (event.key === 'Escape') {
        if (comparePick !== null) cancelPick();
        else if (fileId === null && comparison !== null) closeComparison();
        else selectFile(null);
      } else if (event.key === 'v') {
        setView('snapshots');
      } else if (event.key === 'f' || event.key === '0') {
        fitAll();
      }
    },
    [flowGraph, order, moveTo, fileId, graph, selectFile, comparePick, compare, cancelPick, fitAll, comparison, closeComparison, setView],
  );

  const onNodeClick: NodeMouseHandler<FileFlowNode> = useCallback(
    (_event, node) => {
      if (node.type !== 'file') return;
      wrapper.current?.focus();
      if (comparePick !== null) {
        if (node.data.layer !== null && `f:${node.id}` !== comparePick) void compare(comparePick, `f:${node.id}`);
        return;
      }
      selectFile(node.id);
    },
    [selectFile, comparePick, compare],
  );

  return (
    <div
      className="graph-canvas file-canvas"
      ref={wrapper}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label={`Files of ${domain.name}: one node per image file, arrows point from a file to the files built on it. Left goes to the file a file is built on, Right to one built on it, Up and Down through all files, V back to snapshots.`}
      data-testid="file-canvas"
    >
      <ReactFlow<FileFlowNode>
        nodes={nodes}
        edges={flowGraph.edges}
        nodeTypes={nodeTypes}
        onNodeClick={onNodeClick}
        onPaneClick={() => selectFile(null)}
        {...VIEW_ONLY}
        colorMode={theme}
      >
        <Background gap={24} size={1} />
        <Controls showInteractive={false} onFitView={fitAll} />
        {roomy ? <CanvasMiniMap color={minimapColor} label="Overview of all the files: click or drag to move the view" /> : null}
      </ReactFlow>
      <PickBanner name={pickName} />
    </div>
  );
}

/** The physical view: every image file of the domain, its backing links, per disk. */
export function FileCanvas({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  return (
    <ReactFlowProvider>
      <Canvas scan={scan} domain={domain} />
    </ReactFlowProvider>
  );
}
