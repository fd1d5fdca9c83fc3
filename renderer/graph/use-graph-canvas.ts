/**
 * The snapshot graph's canvas, in hooks: what it draws (with marks, health, selection and comparison sides),
 * how the keyboard moves through it (the shared keymap, keymap.ts) and what clicks do.
 */
import { useReactFlow, type NodeMouseHandler } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, type RefObject } from 'react';
import { cloneUsers } from '../../shared/clones';
import type { Domain } from '../../shared/model';
import { nodeActions } from '../../shared/ops/node-actions';
import type { AppState } from '../store/store';
import { useAppActions, useAppStore } from '../store/context';
import {
  selectComparePick,
  selectComparison,
  selectFlash,
  selectHealth,
  selectInspectActions,
  selectMenu,
  selectNodeId,
  selectOpenDomainKey,
  selectOpsActions,
  selectPreview,
  selectScanResult,
  selectSecond,
  selectSelectionActions,
} from '../store/selectors';
import { along, PAGE, rootOf, tipOf } from './branch-walk';
import { canvasKeyDown } from './canvas-keys';
import { READABLE_ZOOM } from './framing';
import { findingsByPath } from './health';
import { highlightsFor, NO_HIGHLIGHTS, type Highlights } from './highlights';
import type { Direction } from './keymap';
import { markAfterPaint } from './marks';
import { moveFocus, NODE_HEIGHT, NODE_WIDTH, toFlow, type FlowGraph, type FlowNode, type SnapNodeData } from './to-flow';

const NO_RUNS: string[] = [];
const selectExpandRun = (s: AppState) => s.expandRun;

const KEY_OF: Record<Direction, 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown'> = { left: 'ArrowLeft', right: 'ArrowRight', up: 'ArrowUp', down: 'ArrowDown' };

/** The graph as drawn: while a plan is previewed it shows what the plan touches; just after one ran, what it changed. */
export function useSnapshotFlow(domain: Domain) {
  const preview = useAppStore(selectPreview);
  const flash = useAppStore(selectFlash);
  const health = useAppStore(selectHealth);
  const highlights: Highlights = useMemo(() => {
    if (preview?.result?.ok === true && preview.nameError === null) return highlightsFor(domain, preview.result.plan);
    return Object.keys(flash).length > 0 ? { ...NO_HIGHLIGHTS, marks: flash } : NO_HIGHLIGHTS;
  }, [domain, preview, flash]);
  const findings = useMemo(() => findingsByPath(domain, health?.report), [domain, health]);
  const openKey = useAppStore(selectOpenDomainKey);
  const opened = useAppStore((s) => s.expandedRuns[openKey] ?? NO_RUNS);
  // The clones that build on a node wear "used by clone NAME" (shared/clones.ts).
  const scan = useAppStore(selectScanResult);
  const usedBy = useMemo(() => (scan === null ? new Map<string, string[]>() : cloneUsers(scan, domain)), [scan, domain]);
  const graph = useMemo(() => toFlow(domain, highlights, findings, { expanded: new Set(opened), usedBy }), [domain, highlights, findings, opened, usedBy]);
  useEffect(() => markAfterPaint('graph-painted'), [graph]);
  return graph;
}

/** The nodes with the selection ringed; the two sides of an open comparison wear A and B, a second selection B. */
export function useSelectedNodes(graph: FlowGraph): FlowNode[] {
  const nodeId = useAppStore(selectNodeId);
  const second = useAppStore(selectSecond);
  const comparison = useAppStore(selectComparison);
  const sideA = comparison?.a ?? null;
  const sideB = comparison?.b ?? second;
  return useMemo(
    () =>
      graph.nodes.map((n) => {
        if (n.type === 'run') return n.id === nodeId ? { ...n, selected: true } : n;
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
      void flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + NODE_HEIGHT / 2, { zoom: Math.max(flow.getZoom(), READABLE_ZOOM), duration: 200 });
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

/**
 * Going to a node: selects it and pans the view to it, opening first the folded run that hides it; the view moves
 * once the node is laid out (after the run opens).
 */
export function useReveal(graph: FlowGraph, wrapper: RefObject<HTMLDivElement | null>) {
  const { selectNode } = useAppActions(selectSelectionActions);
  const expandRun = useAppStore(selectExpandRun);
  const moves = useGraphMoves(graph, wrapper);
  const { centerOn } = moves;
  const pending = useRef<string | null>(null);
  useEffect(() => {
    const id = pending.current;
    if (id === null || !graph.nodes.some((n) => n.id === id)) return;
    pending.current = null;
    centerOn(id);
  }, [graph, centerOn]);
  const goTo = useCallback(
    (id: string | null | undefined) => {
      if (id === null || id === undefined) return;
      const run = graph.hiddenIn[id];
      if (run !== undefined) expandRun(run);
      selectNode(id);
      pending.current = id;
      if (run === undefined) centerOn(id);
    },
    [graph, expandRun, selectNode, centerOn],
  );
  /** Opens a folded run and goes to its first snapshot. */
  const openRun = useCallback((run: string) => goTo(Object.keys(graph.hiddenIn).find((id) => graph.hiddenIn[id] === run)), [graph, goTo]);
  return { ...moves, goTo, openRun };
}

/** Where a move along the branch starts: the selected node (a folded run: its first snapshot), else You are here. */
function startOf(graph: FlowGraph, nodeId: string | null): string | null {
  const here = graph.graphNodes.find((n) => n.current && n.kind === 'branch')?.id ?? graph.treeOrder[0] ?? null;
  if (nodeId === null) return here;
  if (graph.tree.parentOf[nodeId] !== undefined) return nodeId;
  return Object.keys(graph.hiddenIn).find((id) => graph.hiddenIn[id] === nodeId) ?? here;
}

/** The menu's letters on the selected node: the action opens exactly as its menu item would; a refused one opens the menu, which says why. */
function useNodeLetters(graph: FlowGraph, domain: Domain, menuAt: (id: string) => void) {
  const nodeId = useAppStore(selectNodeId);
  const scan = useAppStore(selectScanResult);
  const blocked = useAppStore((s) => s.preview !== null);
  const { startAction } = useAppActions(selectOpsActions);
  const { startComparePick } = useAppActions(selectInspectActions);
  return (key: string) => {
    const node = graph.graphNodes.find((n) => n.id === nodeId);
    if (node === undefined || scan === undefined || scan === null || blocked) return;
    if (key === 'k') return startComparePick(node.id);
    const action = nodeActions(scan, domain, node).find((a) => a.key === key);
    if (action === undefined) return;
    if (action.disabled !== null) return menuAt(node.id);
    startAction(action);
  };
}

/** The snapshot graph's keys: the shared keymap, done on snapshot nodes. */
export function useGraphKeys(graph: FlowGraph, domain: Domain, wrapper: RefObject<HTMLDivElement | null>, fitAll: () => void, search: () => void) {
  const nodeId = useAppStore(selectNodeId);
  const second = useAppStore(selectSecond);
  const comparePick = useAppStore(selectComparePick);
  const comparing = useAppStore(selectComparison) !== null;
  const menuOpen = useAppStore(selectMenu) !== null;
  const { selectNode } = useAppActions(selectSelectionActions);
  const { closeMenu } = useAppActions(selectOpsActions);
  const { selectSecond: selectSecondNode, cancelComparePick, closeComparison, compare, setView } = useAppActions(selectInspectActions);
  const { menuAt, goTo, openRun } = useReveal(graph, wrapper);
  const nodeAction = useNodeLetters(graph, domain, menuAt);
  const here = graph.graphNodes.find((n) => n.current && n.kind === 'branch')?.id ?? null;
  const start = startOf(graph, nodeId);
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
    home: () => goTo(start === null ? null : rootOf(graph.tree, start)),
    end: () => goTo(nodeId === null ? start : start === null ? null : tipOf(graph.tree, start, here)),
    page: (step) => goTo(start === null ? null : along(graph.tree, start, here, step * PAGE)),
    search,
    nodeAction,
    compare: () => {
      if (comparePick !== null && nodeId !== null) void compare(comparePick, nodeId);
    },
    openMenu: () => {
      if (nodeId !== null && graph.tree.parentOf[nodeId] === undefined) openRun(nodeId);
      else if (nodeId !== null) menuAt(nodeId);
    },
    switchView: () => setView('files'),
    fit: fitAll,
  });
}

/**
 * Clicks on the graph: select; Ctrl/Cmd-click a second node compares the two at once, Shift-click selects it as a
 * second node; pick the other side of a comparison; the menu; a folded run opens.
 */
export function useGraphPointer(graph: FlowGraph, wrapper: RefObject<HTMLDivElement | null>) {
  const nodeId = useAppStore(selectNodeId);
  const comparePick = useAppStore(selectComparePick);
  const { selectNode } = useAppActions(selectSelectionActions);
  const { openMenu } = useAppActions(selectOpsActions);
  const { selectSecond, compare } = useAppActions(selectInspectActions);
  const { openRun } = useReveal(graph, wrapper);
  const onNodeClick: NodeMouseHandler<FlowNode> = useCallback(
    (event, node) => {
      if (node.type === 'run') return openRun(node.id);
      if (node.data.ghost) return;
      wrapper.current?.focus();
      if (comparePick !== null) {
        if (node.id !== comparePick) void compare(comparePick, node.id);
        return;
      }
      const other = nodeId !== null && node.id !== nodeId && graph.tree.parentOf[nodeId] !== undefined;
      if ((event.ctrlKey || event.metaKey) && other) {
        selectSecond(node.id);
        return void compare(nodeId, node.id);
      }
      if (event.shiftKey && other) return selectSecond(node.id);
      selectNode(node.id);
      selectSecond(null);
    },
    [selectNode, selectSecond, comparePick, compare, nodeId, wrapper, openRun, graph],
  );
  const onNodeContextMenu: NodeMouseHandler<FlowNode> = useCallback(
    (event, node) => {
      event.preventDefault();
      if (node.type === 'run' || node.data.ghost) return;
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
