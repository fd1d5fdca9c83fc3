/**
 * The snapshot canvas keeps what the user works on in sight, panning the least (framing.ts panIntoView, never
 * zooming out below readable) and only when it is out of sight: after the graph changes (an operation's rescan,
 * a live update, the rescan after the engine came back) the selected node, else You are here; when a comparison
 * opens, both its sides in the strip the docked comparison panel leaves above it. The search box's room at the
 * top counts as out of sight.
 */
import { useReactFlow } from '@xyflow/react';
import { useEffect, useRef, type RefObject } from 'react';
import type { Domain } from '../../shared/model';
import { useAppStore } from '../store/context';
import { selectComparison, selectNodeId, selectPreview } from '../store/selectors';
import { panIntoView, type Box } from './framing';
import { NODE_HEIGHT, NODE_WIDTH, type FlowGraph } from './to-flow';

/** Screen px kept between a node brought into view and the canvas's edge. */
const MARGIN = 24;
/** Room above a node for its badges (You are here, libvirt's current), in graph units. */
const BADGE = 30;
/** How long the canvas takes to settle after the comparison panel docks under it (use-framing.ts waits 120 ms, then moves for 150 ms). */
const DOCK_SETTLE_MS = 320;

/** The box of a drawn node, its badges included; a folded snapshot is found through its run. */
function boxOf(graph: FlowGraph, id: string): Box | null {
  const node = graph.nodes.find((n) => n.id === id) ?? graph.nodes.find((n) => n.id === graph.hiddenIn[id]);
  if (node === undefined) return null;
  return { x: node.position.x, y: node.position.y - BADGE, width: NODE_WIDTH, height: NODE_HEIGHT + BADGE };
}

/** Pans the canvas at `wrapper` so the nodes `ids` are in sight below `top` px (the search box); see the module comment. */
function useBringIntoView(graph: FlowGraph, wrapper: RefObject<HTMLElement | null>, top: number) {
  const flow = useReactFlow();
  return (ids: readonly string[]): void => {
    const canvas = wrapper.current;
    if (canvas === null) return;
    const boxes = ids.map((id) => boxOf(graph, id)).filter((b): b is Box => b !== null);
    const area = { left: 0, top, right: canvas.clientWidth, bottom: canvas.clientHeight };
    const next = panIntoView(flow.getViewport(), boxes, area, MARGIN);
    if (next !== null) void flow.setViewport(next, { duration: 200 });
  };
}

/** Keeps the selected node (else You are here) in view when the graph changes, and a comparison's sides when it opens. */
export function useKeepInView(domain: Domain, graph: FlowGraph, wrapper: RefObject<HTMLElement | null>, top: number): void {
  const nodeId = useAppStore(selectNodeId);
  const previewing = useAppStore(selectPreview) !== null;
  const comparison = useAppStore(selectComparison);
  const bring = useBringIntoView(graph, wrapper, top);
  const latest = useRef({ bring, nodeId, previewing, graph });
  useEffect(() => {
    latest.current = { bring, nodeId, previewing, graph };
  });

  // The domain as first shown is framed by use-framing.ts; when the same domain's drawing changes (nodes come, go or
  // move), the node stays in view. A rescan that changes nothing on screen moves nothing.
  const shown = useRef<{ name: string; layout: string } | null>(null);
  useEffect(() => {
    const before = shown.current;
    const layout = graph.nodes.map((n) => `${n.id}@${n.position.x},${n.position.y}`).join('\n');
    shown.current = { name: domain.name, layout };
    if (before === null || before.name !== domain.name || before.layout === layout) return;
    // After React Flow has the new nodes.
    const frame = requestAnimationFrame(() => {
      const now = latest.current;
      if (now.previewing) return;
      const here = now.graph.graphNodes.find((n) => n.kind === 'branch' && n.current)?.id ?? null;
      const id = now.nodeId ?? here;
      if (id !== null) now.bring([id]);
    });
    return () => cancelAnimationFrame(frame);
  }, [domain.name, graph]);

  const a = comparison?.a ?? null;
  const b = comparison?.b ?? null;
  // The panel grows when the result comes: its status is a change of the canvas's size too.
  const status = comparison?.status ?? null;
  useEffect(() => {
    if (a === null || b === null) return;
    // Once the canvas has shrunk above the docked panel.
    const timer = setTimeout(() => latest.current.bring([a, b]), DOCK_SETTLE_MS);
    return () => clearTimeout(timer);
  }, [a, b, status]);
}
