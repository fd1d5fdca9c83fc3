import {
  Background,
  Controls,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type NodeMouseHandler,
  type NodeTypes,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, type KeyboardEvent, type ReactElement, type ReactNode } from 'react';
import type { Domain } from '../../shared/model';
import { findingsByPath } from '../graph/health';
import { markAfterPaint } from '../graph/marks';
import { useFraming, VIEW_ONLY } from '../graph/use-framing';
import { highlightsFor, NO_HIGHLIGHTS, type Highlights } from '../graph/highlights';
import { moveFocus, NODE_HEIGHT, NODE_WIDTH, toFlow, type SnapFlowNode, type SnapNodeData } from '../graph/to-flow';
import { useAppStore } from '../store/context';
import { selectNodeId, selectTheme } from '../store/selectors';
import type { AppState } from '../store/store';
import { BranchNode } from './BranchNode';
import { CanvasMiniMap } from './CanvasMiniMap';
import { PickBanner } from './PickBanner';
import { SnapshotNode } from './SnapshotNode';
import { nodeLabel } from './node-label';

// Defined once at module level: a new object per render would remount every node.
const nodeTypes: NodeTypes = { snapshot: SnapshotNode, branch: BranchNode };
const ARROWS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown']);
const FIT = { padding: 0.2, maxZoom: 1.2 } as const;

const selectSelectNode = (s: AppState) => s.selectNode;
const selectOpenMenu = (s: AppState) => s.openMenu;
const selectPreview = (s: AppState) => s.preview;
const selectFlash = (s: AppState) => s.flash;
const selectHealth = (s: AppState) => s.health;
const selectSecond = (s: AppState) => s.second;
const selectSelectSecond = (s: AppState) => s.selectSecond;
const selectComparePick = (s: AppState) => s.comparePick;
const selectCancelPick = (s: AppState) => s.cancelComparePick;
const selectCompare = (s: AppState) => s.compare;
const selectComparison = (s: AppState) => s.comparison;
const selectCloseComparison = (s: AppState) => s.closeComparison;
const selectSetView = (s: AppState) => s.setView;
const MENU_KEYS = new Set(['Enter', 'ContextMenu', 'm']);
const minimapColor = (node: SnapFlowNode): string =>
  node.data.current ? 'var(--accent)' : node.type === 'branch' ? 'var(--branch)' : 'var(--node-border-strong)';

function Canvas({ domain, children }: { domain: Domain; children?: ReactNode }): ReactElement {
  const nodeId = useAppStore(selectNodeId);
  const selectNode = useAppStore(selectSelectNode);
  const theme = useAppStore(selectTheme);
  const openMenu = useAppStore(selectOpenMenu);
  const preview = useAppStore(selectPreview);
  const flash = useAppStore(selectFlash);
  const health = useAppStore(selectHealth);
  const second = useAppStore(selectSecond);
  const selectSecondNode = useAppStore(selectSelectSecond);
  const comparePick = useAppStore(selectComparePick);
  const cancelPick = useAppStore(selectCancelPick);
  const compare = useAppStore(selectCompare);
  const comparison = useAppStore(selectComparison);
  const closeComparison = useAppStore(selectCloseComparison);
  const setView = useAppStore(selectSetView);
  const flow = useReactFlow();
  // While a plan is previewed the graph shows what it touches; just after one ran, what it changed.
  const highlights: Highlights = useMemo(() => {
    if (preview?.result?.ok === true && preview.nameError === null) return highlightsFor(domain, preview.result.plan);
    return Object.keys(flash).length > 0 ? { marks: flash, ghosts: [] } : NO_HIGHLIGHTS;
  }, [domain, preview, flash]);
  const findings = useMemo(() => findingsByPath(domain, health?.report), [domain, health]);
  const graph = useMemo(() => toFlow(domain, highlights, findings), [domain, highlights, findings]);
  // The two sides of an open comparison wear A and B; a second selection is ringed too.
  const sideA = comparison?.a ?? null;
  const sideB = comparison?.b ?? second;
  const nodes = useMemo(
    () =>
      graph.nodes.map((n) => {
        const side: SnapNodeData['side'] = n.id === sideA ? 'A' : n.id === sideB ? 'B' : null;
        return n.id === nodeId || n.id === second || side !== null ? { ...n, selected: n.id === nodeId || n.id === second, data: { ...n.data, side } } : n;
      }),
    [graph, nodeId, second, sideA, sideB],
  );
  const wrapper = useRef<HTMLDivElement>(null);

  // Opens the graph whole when it can be read so, else at You are here (see framing.ts); F fits it whole.
  const boxes = useMemo(() => graph.nodes.map((n) => ({ x: n.position.x, y: n.position.y, width: NODE_WIDTH, height: NODE_HEIGHT })), [graph]);
  const here = boxes[graph.nodes.findIndex((n) => n.data.current)] ?? null;
  const { frameRef, fitAll, roomy } = useFraming(wrapper, boxes, here, FIT);
  // Picking the other side of a comparison happens on the graph: take the keyboard there.
  useEffect(() => {
    if (comparePick !== null) wrapper.current?.focus();
  }, [comparePick]);

  useEffect(() => markAfterPaint('graph-painted'), [graph]);

  // A different domain: frame it.
  useEffect(() => {
    const frame = requestAnimationFrame(() => frameRef.current());
    return () => cancelAnimationFrame(frame);
  }, [domain.name, frameRef]);

  const centerOn = useCallback(
    (id: string) => {
      const node = graph.nodes.find((n) => n.id === id);
      if (node === undefined) return;
      void flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + NODE_HEIGHT / 2, { zoom: Math.max(flow.getZoom(), 0.8), duration: 200 });
    },
    [flow, graph],
  );

  /** Opens the menu of a node beside it on screen. */
  const menuAt = useCallback(
    (id: string) => {
      const node = graph.nodes.find((n) => n.id === id);
      const box = wrapper.current?.getBoundingClientRect();
      if (node === undefined || box === undefined) return;
      const at = flow.flowToScreenPosition({ x: node.position.x + NODE_WIDTH, y: node.position.y });
      openMenu(id, at.x - box.left + 4, at.y - box.top);
    },
    [graph, flow, openMenu],
  );

  const onKeyDown = useCallback(
    (event: KeyboardEvent<HTMLDivElement>) => {
      if (comparePick !== null && event.key === 'Enter' && nodeId !== null && nodeId !== comparePick) {
        event.preventDefault();
        void compare(comparePick, nodeId);
      } else if (comparePick !== null && event.key === 'Escape') {
        cancelPick();
      } else if ((MENU_KEYS.has(event.key) || (event.key === 'F10' && event.shiftKey)) && nodeId !== null) {
        event.preventDefault();
        menuAt(nodeId);
      } else if (ARROWS.has(event.key)) {
        event.preventDefault();
        const next = moveFocus(graph, nodeId, event.key as Parameters<typeof moveFocus>[2]);
        if (next !== null) {
          selectNode(next);
          centerOn(next);
        }
      } else if (event.key === 'Escape') {
        // Esc steps back: first the selection, then an open comparison.
        if (nodeId === null && comparison !== null) closeComparison();
        selectNode(null);
        selectSecondNode(null);
      } else if (event.key === 'v') {
        setView('files');
      } else if (event.key === 'f' || event.key === '0') {
        fitAll();
      } else if (event.key === 'Home') {
        const here = graph.nodes.find((n) => n.data.current);
        if (here !== undefined) {
          selectNode(here.id);
          centerOn(here.id);
        }
      }
    },
    [graph, nodeId, selectNode, centerOn, fitAll, menuAt, comparePick, compare, cancelPick, comparison, closeComparison, selectSecondNode, setView],
  );

  const onNodeClick: NodeMouseHandler<SnapFlowNode> = useCallback(
    (event, node) => {
      if (node.data.ghost) return;
      wrapper.current?.focus();
      if (comparePick !== null) {
        if (node.id !== comparePick) void compare(comparePick, node.id);
        return;
      }
      // Ctrl, Cmd or Shift click picks a second node, to compare with the first.
      if ((event.ctrlKey || event.metaKey || event.shiftKey) && nodeId !== null && node.id !== nodeId) selectSecondNode(node.id);
      else {
        selectNode(node.id);
        selectSecondNode(null);
      }
    },
    [selectNode, selectSecondNode, comparePick, compare, nodeId],
  );

  const onNodeContextMenu: NodeMouseHandler<SnapFlowNode> = useCallback(
    (event, node) => {
      event.preventDefault();
      if (node.data.ghost) return;
      const box = wrapper.current?.getBoundingClientRect();
      openMenu(node.id, event.clientX - (box?.left ?? 0), event.clientY - (box?.top ?? 0));
    },
    [openMenu],
  );

  return (
    <div
      className="graph-canvas"
      ref={wrapper}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label={`Snapshot graph of ${domain.name}. Arrow keys move between nodes, Enter opens the node's actions, F fits the view, Home goes to You are here.`}
      data-testid="graph-canvas"
    >
      <ReactFlow<SnapFlowNode>
        nodes={nodes}
        edges={graph.edges}
        nodeTypes={nodeTypes}
        onNodeClick={onNodeClick}
        onNodeContextMenu={onNodeContextMenu}
        onPaneClick={() => {
          selectNode(null);
          selectSecondNode(null);
        }}
        {...VIEW_ONLY}
        colorMode={theme}
      >
        <Background gap={24} size={1} />
        <Controls showInteractive={false} onFitView={fitAll} />
        {roomy ? <CanvasMiniMap color={minimapColor} label="Overview of the whole graph: click or drag to move the view" /> : null}
      </ReactFlow>
      <PickBanner name={comparePick === null ? '' : nodeLabel(domain, comparePick)} />
      {children}
    </div>
  );
}

export function GraphCanvas({ domain, children }: { domain: Domain; children?: ReactNode }): ReactElement {
  return (
    <ReactFlowProvider>
      <Canvas domain={domain}>{children}</Canvas>
    </ReactFlowProvider>
  );
}
