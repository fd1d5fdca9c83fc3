/**
 * The snapshot graph's canvas, in hooks: what it draws (with marks, health, selection and comparison sides),
 * how the keyboard moves through it (the shared keymap, keymap.ts) and what clicks do.
 */
import { useReactFlow, type NodeMouseHandler } from '@xyflow/react';
import { useCallback, useEffect, useMemo, type RefObject } from 'react';
import type { Domain } from '../../shared/model';
import { useAppActions, useAppStore } from '../store/context';
import { selectComparePick, selectComparison, selectFlash, selectHealth, selectInspectActions, selectMenu, selectNodeId, selectOpsActions, selectPreview, selectSecond, selectSelectionActions } from '../store/selectors';
import { canvasKeyDown } from './canvas-keys';
import { findingsByPath } from './health';
import { highlightsFor, NO_HIGHLIGHTS, type Highlights } from './highlights';
import type { Direction } from './keymap';
import { markAfterPaint } from './marks';
import { moveFocus, NODE_HEIGHT, NODE_WIDTH, toFlow, type FlowGraph, type SnapFlowNode, type SnapNodeData } from './to-flow';

const KEY_OF: Record<Direction, 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown'> = { left: 'ArrowLeft', right: 'ArrowRight', up: 'ArrowUp', down: 'ArrowDown' };

/** The graph as drawn: while a plan is previewed it shows what the plan touches; just after one ran, what it changed. */
export function useSnapshotFlow(domain: Domain) {
  const preview = useAppStore(selectPreview);
  const flash = useAppStore(selectFlash);
  const health = useAppStore(selectHealth);
  const highlights: Highlights = useMemo(() => {
    if (preview?.result?.ok === true && preview.nameError === null) return highlightsFor(domain, preview.result.plan);
    return Object.keys(flash).length > 0 ? { marks: flash, ghosts: [] } : NO_HIGHLIGHTS;
  }, [domain, preview, flash]);
  const findings = useMemo(() => findingsByPath(domain, health?.report), [domain, health]);
  const graph = useMemo(() => toFlow(domain, highlights, findings), [domain, highlights, findings]);
  useEffect(() => markAfterPaint('graph-painted'), [graph]);
  return graph;
}

/** The nodes with the selection ringed; the two sides of an open comparison wear A and B, a second selection B. */
export function useSelectedNodes(graph: FlowGraph): SnapFlowNode[] {
  const nodeId = useAppStore(selectNodeId);
  const second = useAppStore(selectSecond);
  const comparison = useAppStore(selectComparison);
  const sideA = comparison?.a ?? null;
  const sideB = comparison?.b ?? second;
  return useMemo(
    () =>
      graph.nodes.map((n) => {
        const side: SnapNodeData['side'] = n.id === sideA ? 'A' : n.id === sideB ? 'B' : null;
        return n.id === nodeId || n.id === second || side !== null ? { ...n, selected: n.id === nodeId || n.id === second, data: { ...n.data, side } } : n;
      }),
    [graph, nodeId, second, sideA, sideB],
  );
}

/** Moving the view: centring on a node, and opening a node's menu beside it on screen. */
function useGraphMoves(graph: FlowGraph, wrapper: RefObject<HTMLDivElement | null>) {
  const flow = useReactFlow();
  const { openMenu } = useAppActions(selectOpsActions);
  const centerOn = useCallback(
    (id: string) => {
      const node = graph.nodes.find((n) => n.id === id);
      if (node === undefined) return;
      void flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + NODE_HEIGHT / 2, { zoom: Math.max(flow.getZoom(), 0.8), duration: 200 });
    },
    [flow, graph],
  );
  const menuAt = useCallback(
    (id: string) => {
      const node = graph.nodes.find((n) => n.id === id);
      const box = wrapper.current?.getBoundingClientRect();
      if (node === undefined || box === undefined) return;
      const at = flow.flowToScreenPosition({ x: node.position.x + NODE_WIDTH, y: node.position.y });
      openMenu(id, at.x - box.left + 4, at.y - box.top);
    },
    [graph, flow, openMenu, wrapper],
  );
  return { centerOn, menuAt };
}

/** The snapshot graph's keys: the shared keymap, done on snapshot nodes. */
export function useGraphKeys(graph: FlowGraph, wrapper: RefObject<HTMLDivElement | null>, fitAll: () => void) {
  const nodeId = useAppStore(selectNodeId);
  const second = useAppStore(selectSecond);
  const comparePick = useAppStore(selectComparePick);
  const comparing = useAppStore(selectComparison) !== null;
  const menuOpen = useAppStore(selectMenu) !== null;
  const { selectNode } = useAppActions(selectSelectionActions);
  const { closeMenu } = useAppActions(selectOpsActions);
  const { selectSecond: selectSecondNode, cancelComparePick, closeComparison, compare, setView } = useAppActions(selectInspectActions);
  const { centerOn, menuAt } = useGraphMoves(graph, wrapper);
  const goTo = (id: string | null | undefined) => {
    if (id === null || id === undefined) return;
    selectNode(id);
    centerOn(id);
  };
  const picking = comparePick !== null;
  const state = { menuOpen, picking, canCompare: picking && nodeId !== null && nodeId !== comparePick, comparing, selected: nodeId !== null || second !== null, hasMenu: true };
  return canvasKeyDown(state, {
    closeMenu,
    cancelPick: cancelComparePick,
    closeComparison,
    clearSelection: () => {
      selectNode(null);
      selectSecondNode(null);
    },
    move: (direction) => goTo(moveFocus(graph, nodeId, KEY_OF[direction])),
    home: () => goTo(graph.nodes.find((n) => n.data.current)?.id),
    end: () => goTo(graph.order[graph.order.length - 1]),
    compare: () => {
      if (comparePick !== null && nodeId !== null) void compare(comparePick, nodeId);
    },
    openMenu: () => {
      if (nodeId !== null) menuAt(nodeId);
    },
    switchView: () => setView('files'),
    fit: fitAll,
  });
}

/** Clicks on the graph: select, Ctrl/Cmd/Shift-select a second node, pick the other side of a comparison, menu. */
export function useGraphPointer(wrapper: RefObject<HTMLDivElement | null>) {
  const nodeId = useAppStore(selectNodeId);
  const comparePick = useAppStore(selectComparePick);
  const { selectNode } = useAppActions(selectSelectionActions);
  const { openMenu } = useAppActions(selectOpsActions);
  const { selectSecond, compare } = useAppActions(selectInspectActions);
  const onNodeClick: NodeMouseHandler<SnapFlowNode> = useCallback(
    (event, node) => {
      if (node.data.ghost) return;
      wrapper.current?.focus();
      if (comparePick !== null) {
        if (node.id !== comparePick) void compare(comparePick, node.id);
        return;
      }
      if ((event.ctrlKey || event.metaKey || event.shiftKey) && nodeId !== null && node.id !== nodeId) return selectSecond(node.id);
      selectNode(node.id);
      selectSecond(null);
    },
    [selectNode, selectSecond, comparePick, compare, nodeId, wrapper],
  );
  const onNodeContextMenu: NodeMouseHandler<SnapFlowNode> = useCallback(
    (event, node) => {
      event.preventDefault();
      if (node.data.ghost) return;
      const box = wrapper.current?.getBoundingClientRect();
      openMenu(node.id, event.clientX - (box?.left ?? 0), event.clientY - (box?.top ?? 0));
    },
    [openMenu, wrapper],
  );
  const onPaneClick = useCallback(() => {
    selectNode(null);
    selectSecond(null);
  }, [selectNode, selectSecond]);
  return { onNodeClick, onNodeContextMenu, onPaneClick };
}
