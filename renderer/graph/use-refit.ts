import { useEffect, useState, type RefObject } from 'react';

/**
 * Frames the graph again (with `frame`) when its canvas changes size (a panel opens under it, the window is
 * resized), so what was in view stays in view. Waits for the size to settle before moving. Returns whether the canvas is tall
 * enough for a minimap that covers no nodes.
 */
export function useRefitOnResize(wrapper: RefObject<HTMLElement | null>, frame: RefObject<(duration?: number, resized?: boolean) => void>): { roomy: boolean } {
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
      timer = setTimeout(() => frame.current(150, true), 120);
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      clearTimeout(timer);
    };
  }, [wrapper, frame]);
  return { roomy };
}

/** Below this height the minimap sits on the graph itself. */
const MINIMAP_ROOM = 520;
