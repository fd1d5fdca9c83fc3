/**
 * Where the view opens. A graph of up to a few hundred nodes, or one that fits the canvas at a zoom where its
 * nodes can be read, is shown whole; a bigger one opens at You are here at a comfortable zoom instead: shrunk
 * to fit, its names would be specks, and drawing thousands of them at once is what makes a big graph slow to
 * appear and to pan. Bounds come from the layout, not from the DOM: nodes off screen are never mounted.
 */
import type { Viewport } from '@xyflow/react';

/** Below this zoom a node's name cannot be read. */
export const READABLE_ZOOM = 0.4;
/** Up to this many nodes a graph is always shown whole. */
export const WHOLE_GRAPH_NODES = 300;
/** The zoom a big graph opens at. */
export const FOCUS_ZOOM = 0.8;
const MIN_ZOOM = 0.05;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FitOptions {
  padding: number;
  maxZoom: number;
}

type Size = { width: number; height: number };

/** The viewport that shows every box, with `padding` (a share of the canvas) around them. */
export function fitViewport(boxes: Box[], canvas: Size, options: FitOptions): Viewport | null {
  if (boxes.length === 0 || canvas.width === 0 || canvas.height === 0) return null;
  const minX = Math.min(...boxes.map((b) => b.x));
  const minY = Math.min(...boxes.map((b) => b.y));
  const maxX = Math.max(...boxes.map((b) => b.x + b.width));
  const maxY = Math.max(...boxes.map((b) => b.y + b.height));
  const raw = Math.min(canvas.width / ((maxX - minX) * (1 + 2 * options.padding)), canvas.height / ((maxY - minY) * (1 + 2 * options.padding)));
  const zoom = Math.min(options.maxZoom, Math.max(MIN_ZOOM, raw));
  return { x: canvas.width / 2 - ((minX + maxX) / 2) * zoom, y: canvas.height / 2 - ((minY + maxY) / 2) * zoom, zoom };
}

/** How a graph opens: whole (see above), or centred on `focus` (else the first box) at a readable zoom. */
export function openingViewport(boxes: Box[], focus: Box | null, canvas: Size, options: FitOptions): { viewport: Viewport; whole: boolean } | null {
  const fit = fitViewport(boxes, canvas, options);
  if (fit === null) return null;
  if (boxes.length <= WHOLE_GRAPH_NODES || fit.zoom >= READABLE_ZOOM) return { viewport: fit, whole: true };
  const at = focus ?? (boxes[0] as Box);
  return {
    viewport: { x: canvas.width / 2 - (at.x + at.width / 2) * FOCUS_ZOOM, y: canvas.height / 2 - (at.y + at.height / 2) * FOCUS_ZOOM, zoom: FOCUS_ZOOM },
    whole: false,
  };
}
