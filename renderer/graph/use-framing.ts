import { useReactFlow } from '@xyflow/react';
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { openingViewport, type Box, type FitOptions } from './framing';

/** Below this height the minimap sits on the graph itself. */
const MINIMAP_ROOM = 400;

/** What the two canvases share: they draw read-only graphs, culled to what is on screen. */
export const VIEW_ONLY = {
  nodesDraggable: false,
  nodesConnectable: false,
  elementsSelectable: false,
  onlyRenderVisibleElements: true,
  minZoom: 0.05,
  maxZoom: 2,
  proOptions: { hideAttribution: true },
  disableKeyboardA11y: true,
  // The canvas is one Tab stop and its arrows move through the nodes (keymap.ts): no stop per node and edge.
  nodesFocusable: false,
  edgesFocusable: false,
} as const;

/** The canvas's size now, read when a frame is computed. */
const sizeOf = (wrapper: RefObject<HTMLElement | null>) => ({ width: wrapper.current?.clientWidth ?? 0, height: wrapper.current?.clientHeight ?? 0 });

/**
 * How a canvas frames its graph, from the layout's boxes (nodes off screen are never mounted, so the DOM cannot
 * tell): `frame` opens it (see framing.ts) and runs again when the canvas changes size (a panel opens under it,
 * the window is resized), where a big graph keeps where the user is looking; `fitAll` shows every node when
 * they can be read so, else as many as can around the focus (fitting never zooms below readable).
 * `roomy` says whether the canvas is tall enough for a minimap that covers no nodes.
 */
export function useFraming(wrapper: RefObject<HTMLElement | null>, boxes: Box[], focus: Box | null, options: FitOptions) {
  const flow = useReactFlow();
  const frame = useCallback(
    (duration = 0, resized = false) => {
      const opened = openingViewport(boxes, focus, sizeOf(wrapper), options);
      if (opened !== null && (opened.whole || !resized)) void flow.setViewport(opened.viewport, { duration });
    },
    [boxes, focus, wrapper, options, flow],
  );
  const fitAll = useCallback(() => {
    const opened = openingViewport(boxes, focus, sizeOf(wrapper), options);
    if (opened !== null) void flow.setViewport(opened.viewport, { duration: 200 });
  }, [boxes, focus, wrapper, options, flow]);
  const frameRef = useRef(frame);
  // Before any effect of the render asks for it.
  useLayoutEffect(() => {
    frameRef.current = frame;
  }, [frame]);

  const [roomy, setRoomy] = useState(true);
  useEffect(() => {
    const element = wrapper.current;
    if (element === null || typeof ResizeObserver === 'undefined') return;
    let last = { width: element.clientWidth, height: element.clientHeight };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new ResizeObserver(() => {
      const now = { width: element.clientWidth, height: element.clientHeight };
      if (now.width === last.width && now.height === last.height) return;
      last = now;
      setRoomy(now.height >= MINIMAP_ROOM);
      clearTimeout(timer);
      // Wait for the size to settle before moving.
      timer = setTimeout(() => frameRef.current(150, true), 120);
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      clearTimeout(timer);
    };
  }, [wrapper]);

  return { frameRef, fitAll, roomy };
}
