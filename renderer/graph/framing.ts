/**
 * Where the view opens. A graph that fits the canvas at a zoom where its smallest node text is still 12 px on
 * screen is shown whole, as big as `maxZoom` allows; a bigger one opens at that readable zoom on You are here,
 * with as much of the rest in view as the canvas holds (pan and zoom reach the rest): shrunk to fit, its names
 * would be specks. Bounds come from the layout, not from the DOM: nodes off screen are never mounted.
 */
import type { Viewport } from '@xyflow/react';

/** The smallest text on a node, in CSS px (SnapshotNode.css and FileNode.css hold their text to it). */
export const NODE_TEXT_MIN = 14;
/** The smallest text on screen, in px. */
export const SCREEN_TEXT_MIN = 12;
/** Below this zoom a node's smallest text is under SCREEN_TEXT_MIN px on screen (rounded up, so 14 × 0.86 ≥ 12). */
export const READABLE_ZOOM = Math.ceil((SCREEN_TEXT_MIN / NODE_TEXT_MIN) * 100) / 100;
/** Room kept free around a fitted graph, in screen px at most. */
export const MAX_MARGIN = 32;
const MIN_ZOOM = 0.05;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FitOptions {
  /** Room around the graph as a share of the canvas's smaller side, up to MAX_MARGIN px. */
  padding: number;
  maxZoom: number;
  /** Screen px at the top of the canvas that something covers (the search box): the graph is framed below it. */
  top?: number;
}

type Size = { width: number; height: number };
type Bounds = { minX: number; minY: number; maxX: number; maxY: number };

function boundsOf(boxes: Box[]): Bounds {
  const bounds = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const b of boxes) {
    bounds.minX = Math.min(bounds.minX, b.x);
    bounds.minY = Math.min(bounds.minY, b.y);
    bounds.maxX = Math.max(bounds.maxX, b.x + b.width);
    bounds.maxY = Math.max(bounds.maxY, b.y + b.height);
  }
  return bounds;
}

/** The part of the canvas a frame may use: below the top inset; `top` says where it starts. */
function usable(canvas: Size, options: FitOptions): Size & { top: number } {
  const top = Math.min(options.top ?? 0, canvas.height / 2);
  return { width: canvas.width, height: canvas.height - top, top };
}

/** The screen px kept free on each side of a fitted graph. */
export function marginOf(canvas: Size, options: FitOptions): number {
  return Math.min(MAX_MARGIN, options.padding * Math.min(canvas.width, canvas.height));
}

/** The viewport that shows every box, centred, with a margin around them, at no more than `maxZoom`. */
export function fitViewport(boxes: Box[], canvas: Size, options: FitOptions): Viewport | null {
  if (boxes.length === 0 || canvas.width === 0 || canvas.height === 0) return null;
  const { minX, minY, maxX, maxY } = boundsOf(boxes);
  const area = usable(canvas, options);
  const margin = marginOf(area, options);
  const raw = Math.min((area.width - 2 * margin) / Math.max(maxX - minX, 1), (area.height - 2 * margin) / Math.max(maxY - minY, 1));
  const zoom = Math.min(options.maxZoom, Math.max(MIN_ZOOM, raw));
  return { x: area.width / 2 - ((minX + maxX) / 2) * zoom, y: area.top + area.height / 2 - ((minY + maxY) / 2) * zoom, zoom };
}

/** Moves `offset` (a viewport's x or y) the least so that the span [start, end] in flow units is on screen with `margin`. */
function keepInView(offset: number, start: number, end: number, zoom: number, screen: number, margin: number): number {
  const low = margin - start * zoom;
  const high = screen - margin - end * zoom;
  if (high < low) return screen / 2 - ((start + end) / 2) * zoom;
  return Math.min(high, Math.max(low, offset));
}

/**
 * The graph at the readable zoom, as near its centre as keeps `focus` (else the first box) on screen: the most
 * of the graph a readable view can show, with You are here in it.
 */
export function readableViewport(boxes: Box[], focus: Box | null, canvas: Size, options: FitOptions): Viewport | null {
  if (boxes.length === 0 || canvas.width === 0 || canvas.height === 0) return null;
  const { minX, minY, maxX, maxY } = boundsOf(boxes);
  const at = focus ?? (boxes[0] as Box);
  const zoom = READABLE_ZOOM;
  const area = usable(canvas, options);
  const margin = marginOf(area, options);
  const x = keepInView(area.width / 2 - ((minX + maxX) / 2) * zoom, at.x, at.x + at.width, zoom, area.width, margin);
  const y = area.top + keepInView(area.height / 2 - ((minY + maxY) / 2) * zoom, at.y, at.y + at.height, zoom, area.height, margin);
  return { x, y, zoom };
}

/** How a graph opens: whole when that is readable (see above), else readable on `focus`; `whole` says which. */
export function openingViewport(boxes: Box[], focus: Box | null, canvas: Size, options: FitOptions): { viewport: Viewport; whole: boolean } | null {
  const fit = fitViewport(boxes, canvas, options);
  if (fit === null) return null;
  if (fit.zoom >= READABLE_ZOOM) return { viewport: fit, whole: true };
  const viewport = readableViewport(boxes, focus, canvas, options);
  return viewport === null ? null : { viewport, whole: false };
}

/** A part of the canvas on screen, in px from the canvas's top left. */
export interface Area {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Whether `box` (flow units) is inside `area` under `viewport`. */
function shows(viewport: Viewport, box: Box, area: Area): boolean {
  const { x, y, zoom } = viewport;
  return x + box.x * zoom >= area.left && y + box.y * zoom >= area.top && x + (box.x + box.width) * zoom <= area.right && y + (box.y + box.height) * zoom <= area.bottom;
}

/**
 * The view panned the least so that `boxes` are inside `area` with `margin` (the landing node of an operation,
 * both sides of a comparison); when they do not all fit, the first box alone. The zoom stays, raised to
 * READABLE_ZOOM when below it: the view never zooms out to show them. Null when they are all in view already.
 */
export function panIntoView(viewport: Viewport, boxes: Box[], area: Area, margin: number): Viewport | null {
  const first = boxes[0];
  if (first === undefined || area.right <= area.left || area.bottom <= area.top) return null;
  if (viewport.zoom >= READABLE_ZOOM && boxes.every((b) => shows(viewport, b, area))) return null;
  const zoom = Math.max(viewport.zoom, READABLE_ZOOM);
  const width = area.right - area.left;
  const height = area.bottom - area.top;
  const all = boundsOf(boxes);
  const fits = (all.maxX - all.minX) * zoom <= width - 2 * margin && (all.maxY - all.minY) * zoom <= height - 2 * margin;
  const { minX, minY, maxX, maxY } = fits ? all : boundsOf([first]);
  const x = area.left + keepInView(viewport.x - area.left, minX, maxX, zoom, width, margin);
  const y = area.top + keepInView(viewport.y - area.top, minY, maxY, zoom, height, margin);
  return { x, y, zoom };
}
