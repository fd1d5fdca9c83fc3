import { Panel, useReactFlow, useStore, type Node, type ReactFlowState } from '@xyflow/react';
import { useEffect, useRef, type PointerEvent, type ReactElement } from 'react';
import './CanvasMiniMap.css';

const WIDTH = 200;
const HEIGHT = 150;

const selectView = (s: ReactFlowState) => ({ transform: s.transform, width: s.width, height: s.height, nodeLookup: s.nodeLookup });
const sameView = (a: ReturnType<typeof selectView>, b: ReturnType<typeof selectView>) =>
  a.transform[0] === b.transform[0] && a.transform[1] === b.transform[1] && a.transform[2] === b.transform[2] && a.width === b.width && a.height === b.height && a.nodeLookup === b.nodeLookup;

/**
 * An overview of the whole graph drawn on one canvas: React Flow's minimap draws an SVG element per node, which
 * for thousands of nodes costs more than the graph itself. Each node is a rectangle in the colour `color` gives
 * (a CSS colour or variable); the part on screen is framed. Click or drag in it to move the view there.
 */
export function CanvasMiniMap<N extends Node>({ color, label }: { color: (node: N) => string; label: string }): ReactElement {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { transform, width, height, nodeLookup } = useStore(selectView, sameView);
  const flow = useReactFlow();
  const scale = useRef({ x: 0, y: 0, k: 1 });

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext('2d');
    if (!element || !context) return;
    const style = getComputedStyle(element);
    const resolve = (value: string) => (value.startsWith('var(') ? style.getPropertyValue(value.slice(4, -1)).trim() || '#888' : value);
    const [tx, ty, zoom] = transform;
    const view = { x: -tx / zoom, y: -ty / zoom, width: width / zoom, height: height / zoom };
    let minX = view.x;
    let minY = view.y;
    let maxX = view.x + view.width;
    let maxY = view.y + view.height;
    const boxes: Array<{ x: number; y: number; w: number; h: number; fill: string }> = [];
    const colours = new Map<string, string>();
    for (const node of nodeLookup.values()) {
      if (node.hidden) continue;
      const { x, y } = node.internals.positionAbsolute;
      const w = node.measured.width ?? node.width ?? 0;
      const h = node.measured.height ?? node.height ?? 0;
      const wanted = color(node.internals.userNode as N);
      if (wanted === 'transparent') continue;
      const fill = colours.get(wanted) ?? resolve(wanted);
      colours.set(wanted, fill);
      boxes.push({ x, y, w, h, fill });
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x + w);
      maxY = Math.max(maxY, y + h);
    }
    const k = Math.min(WIDTH / Math.max(maxX - minX, 1), HEIGHT / Math.max(maxY - minY, 1));
    const ox = (WIDTH - (maxX - minX) * k) / 2 - minX * k;
    const oy = (HEIGHT - (maxY - minY) * k) / 2 - minY * k;
    scale.current = { x: ox, y: oy, k };
    const ratio = window.devicePixelRatio || 1;
    element.width = WIDTH * ratio;
    element.height = HEIGHT * ratio;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, WIDTH, HEIGHT);
    for (const b of boxes) {
      context.fillStyle = b.fill;
      context.fillRect(ox + b.x * k, oy + b.y * k, Math.max(b.w * k, 1), Math.max(b.h * k, 1));
    }
    context.strokeStyle = resolve('var(--accent)');
    context.lineWidth = 1.5;
    context.strokeRect(ox + view.x * k, oy + view.y * k, view.width * k, view.height * k);
  }, [transform, width, height, nodeLookup, color]);

  const moveTo = (event: PointerEvent<HTMLCanvasElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const { x, y, k } = scale.current;
    void flow.setCenter((event.clientX - box.left - x) / k, (event.clientY - box.top - y) / k, { zoom: transform[2] });
  };

  return (
    <Panel position="bottom-right" className="canvas-minimap">
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
    </Panel>
  );
}
