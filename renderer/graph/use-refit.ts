import { useReactFlow, type FitViewOptions } from '@xyflow/react';
import { useEffect, useState, type RefObject } from 'react';

/**
 * Frames the graph again when its canvas changes size (a panel opens under it, the window is resized), so what
 * was in view stays in view. Waits for the size to settle before moving. Returns whether the canvas is tall
 * enough for a minimap that covers no nodes.
 */
export function useRefitOnResize(wrapper: RefObject<HTMLElement | null>, options: FitViewOptions): { roomy: boolean } {
  const flow = useReactFlow();
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
      timer = setTimeout(() => void flow.fitView({ ...options, duration: 150 }), 120);
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      clearTimeout(timer);
    };
  }, [wrapper, flow, options]);
  return { roomy };
}

/** Below this height the minimap sits on the graph itself. */
const MINIMAP_ROOM = 520;
