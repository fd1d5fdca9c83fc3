import { Panel, useReactFlow, useStore, type Node, type ReactFlowState } from '@xyflow/react';
import { useEffect, useRef, type PointerEvent, type ReactElement } from 'react';
import { useAppActions, useAppStore } from '../store/context';
import { selectLayoutActions, selectMinimap } from '../store/ui-slice';
import './CanvasMiniMap.css';

/** Small enough to cover a few hundredths of the canvas (160 × 100 of at least 700 × 500 where it is drawn). */
const WIDTH = 160;
const HEIGHT = 100;

// React Flow fills the same nodeLookup map in place when the nodes change: its `nodes` array is what tells a new graph.
const selectView = (s: ReactFlowState) => ({ transform: s.transform, width: s.width, height: s.height, nodeLookup: s.nodeLookup, nodes: s.nodes });
const sameView = (a: ReturnType<typeof selectView>, b: ReturnType<typeof selectView>) =>
  a.transform[0] === b.transform[0] &&
  a.transform[1] === b.transform[1] &&
  a.transform[2] === b.transform[2] &&
  a.width === b.width &&
  a.height === b.height &&
  a.nodeLookup === b.nodeLookup &&
  a.nodes === b.nodes;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
type Fill = Rect & { fill: string };
type NodeLookup = ReactFlowState['nodeLookup'];

/** The nodes as filled rectangles (nodes coloured 'transparent' are left out) and the bounds of them and the view. */
function nodeRects<N extends Node>(nodeLookup: NodeLookup, view: Rect, color: (node: N) => string, resolve: (value: string) => string) {
  const bounds = { minX: view.x, minY: view.y, maxX: view.x + view.width, maxY: view.y + view.height };
  const rects: Fill[] = [];
  const colours = new Map<string, string>();
  for (const node of nodeLookup.values()) {
    if (node.hidden) continue;
    const { x, y } = node.internals.positionAbsolute;
    const width = node.measured.width ?? node.width ?? 0;
    const height = node.measured.height ?? node.height ?? 0;
    const wanted = color(node.internals.userNode as N);
    if (wanted === 'transparent') continue;
    const fill = colours.get(wanted) ?? resolve(wanted);
    colours.set(wanted, fill);
    rects.push({ x, y, width, height, fill });
    bounds.minX = Math.min(bounds.minX, x);
    bounds.minY = Math.min(bounds.minY, y);
    bounds.maxX = Math.max(bounds.maxX, x + width);
    bounds.maxY = Math.max(bounds.maxY, y + height);
  }
  return { rects, bounds };
}

/** Draws the rectangles scaled into the minimap, and a frame around the part on screen. */
function draw(element: HTMLCanvasElement, context: CanvasRenderingContext2D, rects: Fill[], view: Rect, scale: { x: number; y: number; k: number }, accent: string) {
  const { x: ox, y: oy, k } = scale;
  const ratio = window.devicePixelRatio || 1;
  element.width = WIDTH * ratio;
  element.height = HEIGHT * ratio;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, WIDTH, HEIGHT);
  for (const b of rects) {
    context.fillStyle = b.fill;
    context.fillRect(ox + b.x * k, oy + b.y * k, Math.max(b.width * k, 1), Math.max(b.height * k, 1));
  }
  context.strokeStyle = accent;
  context.lineWidth = 1.5;
  context.strokeRect(ox + view.x * k, oy + view.y * k, view.width * k, view.height * k);
}

/**
 * An overview of the whole graph drawn on one canvas: React Flow's minimap draws an SVG element per node, which
 * for thousands of nodes costs more than the graph itself. Each node is a rectangle in the colour `color` gives
 * (a CSS colour or variable); the part on screen is framed. Click or drag in it to move the view there. The user
 * can hide it (kept with the layout, ui-slice.ts); a button in its corner brings it back.
 */
export function CanvasMiniMap<N extends Node>({ color, label }: { color: (node: N) => string; label: string }): ReactElement {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { transform, width, height, nodeLookup, nodes } = useStore(selectView, sameView);
  const flow = useReactFlow();
  const scale = useRef({ x: 0, y: 0, k: 1 });
  const shown = useAppStore(selectMinimap);
  const { toggleMinimap } = useAppActions(selectLayoutActions);

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext('2d');
    if (!element || !context) return;
    const style = getComputedStyle(element);
    const resolve = (value: string) => (value.startsWith('var(') ? style.getPropertyValue(value.slice(4, -1)).trim() || '#888' : value);
    const [tx, ty, zoom] = transform;
    const view = { x: -tx / zoom, y: -ty / zoom, width: width / zoom, height: height / zoom };
    const { rects, bounds } = nodeRects(nodeLookup, view, color, resolve);
    const k = Math.min(WIDTH / Math.max(bounds.maxX - bounds.minX, 1), HEIGHT / Math.max(bounds.maxY - bounds.minY, 1));
    scale.current = { x: (WIDTH - (bounds.maxX - bounds.minX) * k) / 2 - bounds.minX * k, y: (HEIGHT - (bounds.maxY - bounds.minY) * k) / 2 - bounds.minY * k, k };
    draw(element, context, rects, view, scale.current, resolve('var(--accent)'));
    // `nodes` is read through nodeLookup: it is here so a new graph redraws the map.
  }, [transform, width, height, nodeLookup, nodes, color, shown]);

  const moveTo = (event: PointerEvent<HTMLCanvasElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const { x, y, k } = scale.current;
    void flow.setCenter((event.clientX - box.left - x) / k, (event.clientY - box.top - y) / k, { zoom: transform[2] });
  };

  return (
    <Panel position="bottom-right" className={`canvas-minimap${shown ? '' : ' is-hidden'}`} data-testid="minimap">
      {shown ? (
        <canvas
          ref={canvas}
          style={{ width: WIDTH, height: HEIGHT }}
          role="img"
          aria-label={label}
          onPointerDown={(event) => {
            event.currentTarget.setPointerCapture(event.pointerId);
            moveTo(event);
          }}
          onPointerMove={(event) => {
            if (event.buttons === 1) moveTo(event);
          }}
        />
      ) : null}
      <button type="button" className="minimap-toggle" onClick={toggleMinimap} aria-pressed={shown} title={shown ? 'Hide the overview map' : 'Show the overview map'} data-testid="minimap-toggle">
        {shown ? '×' : 'Map'}
      </button>
    </Panel>
  );
}
