/**
 * The plan preview never hides what it changes: when a plan is previewed and the nodes it marks (changed, going,
 * new, where You are here will be) are not all in sight beside the docked plan dialog, the view pans to them,
 * zooming out only as far as the readable zoom (framing.ts). Nothing moves when they are all in sight already.
 */
import { useReactFlow } from '@xyflow/react';
import { useEffect, useRef, type RefObject } from 'react';
import { useAppStore } from '../store/context';
import { selectNodeId, selectPreview } from '../store/selectors';
import { READABLE_ZOOM } from './framing';
import { NODE_HEIGHT, NODE_WIDTH, type FlowGraph } from './to-flow';

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * The box (in graph units) around the nodes an open plan marks, or null when it marks none; with `only`, around
 * the nodes of those ids, marked or not (the node acted on).
 */
export function markedBox(graph: FlowGraph, only?: ReadonlySet<string>): Box | null {
  const marked = graph.nodes.filter((n) => (only === undefined ? n.type !== 'run' && (n.data.mark !== null || n.data.here !== undefined) : only.has(n.id)));
  if (marked.length === 0) return null;
  const xs = marked.map((n) => n.position.x);
  const ys = marked.map((n) => n.position.y);
  // Room above a node for its badges (You are here, new).
  return { left: Math.min(...xs), top: Math.min(...ys) - 30, right: Math.max(...xs) + NODE_WIDTH, bottom: Math.max(...ys) + NODE_HEIGHT };
}

/** The box around two boxes. */
const union = (a: Box, b: Box): Box => ({ left: Math.min(a.left, b.left), top: Math.min(a.top, b.top), right: Math.max(a.right, b.right), bottom: Math.max(a.bottom, b.bottom) });

/** The part of the canvas the user sees, on screen: the canvas less what the docked plan dialog covers of it. */
function seenArea(canvas: HTMLElement): Box {
  const box = canvas.getBoundingClientRect();
  const dock = document.querySelector('[data-testid="plan-dialog"]')?.getBoundingClientRect();
  const seen = { left: box.left, top: box.top, right: box.right, bottom: box.bottom };
  if (dock === undefined) return seen;
  // Docked at the side (a wide window) or at the bottom (a narrow one).
  if (dock.top <= box.top + 1) seen.right = Math.min(seen.right, dock.left);
  else seen.bottom = Math.min(seen.bottom, dock.top);
  return seen;
}

/**
 * Pans the snapshot canvas at `wrapper` so an open plan's marked nodes are in sight beside its dialog; when they
 * do not all fit at a readable zoom, the node acted on and where You are here lands come first, then the latter alone.
 */
export function usePreviewInView(graph: FlowGraph, wrapper: RefObject<HTMLElement | null>): void {
  const flow = useReactFlow();
  const preview = useAppStore(selectPreview);
  const planId = preview?.result?.ok === true ? preview.result.plan.id : null;
  const selected = useAppStore(selectNodeId);
  // Once per plan: typing a name plans again, and the view moves only when the new plan's nodes are out of sight.
  const done = useRef<string | null>(null);
  useEffect(() => {
    const canvas = wrapper.current;
    const marked = planId === null || planId === done.current ? null : markedBox(graph);
    if (canvas === null || marked === null) return;
    // What the plan marks, and the node it acts on (selected, often unmarked: the snapshot a revert goes back to).
    const acted = selected === null ? null : markedBox(graph, new Set([selected]));
    const all = acted === null ? marked : union(marked, acted);
    done.current = planId;
    const landing = graph.nodes.find((n) => n.type !== 'run' && n.data.here === 'after')?.id;
    const first = markedBox(graph, new Set([...(landing !== undefined ? [landing] : []), ...(selected !== null ? [selected] : [])]));
    const hereBox = landing === undefined ? null : markedBox(graph, new Set([landing]));
    // After the dialog has laid itself out.
    const frame = requestAnimationFrame(() => {
      const seen = seenArea(canvas);
      const from = flow.flowToScreenPosition({ x: all.left, y: all.top });
      const to = flow.flowToScreenPosition({ x: all.right, y: all.bottom });
      if (from.x >= seen.left && from.y >= seen.top && to.x <= seen.right && to.y <= seen.bottom) return;
      const now = Math.max(flow.getZoom(), READABLE_ZOOM);
      // The zoom at which a box fits the seen part: never more than now, never below readable (null: it does not fit).
      const fitZoom = (b: Box): number | null => {
        const z = Math.min(now, (seen.right - seen.left) / (b.right - b.left), (seen.bottom - seen.top) / (b.bottom - b.top));
        return z >= READABLE_ZOOM ? z : null;
      };
      const box = [all, first, hereBox].find((b): b is Box => b !== null && fitZoom(b) !== null) ?? hereBox ?? first ?? all;
      const zoom = fitZoom(box) ?? now;
      const area = canvas.getBoundingClientRect();
      // setCenter centres in the whole canvas: shift by half of what the dialog covers, so the nodes sit in the seen part.
      const shiftX = (area.right - seen.right) / 2 / zoom;
      const shiftY = (area.bottom - seen.bottom) / 2 / zoom;
      void flow.setCenter((box.left + box.right) / 2 + shiftX, (box.top + box.bottom) / 2 + shiftY, { zoom, duration: 200 });
    });
    return () => cancelAnimationFrame(frame);
  }, [planId, graph, selected, flow, wrapper]);
}
