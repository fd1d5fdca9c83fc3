/**
 * Performance marks the render benchmark reads (`performance.getEntriesByName`): when a scan reached the store,
 * and when a graph built from it was first on screen. Marks cost a few microseconds and record nothing else.
 */
export type MarkName = 'scan-ready' | 'graph-painted' | 'files-layout-start' | 'files-painted';

export function mark(name: MarkName): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(`snaptree:${name}`);
}

/** Marks once the frame after the next has been produced: what was rendered before it is painted by then. */
export function markAfterPaint(name: MarkName): () => void {
  let inner = 0;
  const outer = requestAnimationFrame(() => {
    inner = requestAnimationFrame(() => mark(name));
  });
  return () => {
    cancelAnimationFrame(outer);
    cancelAnimationFrame(inner);
  };
}
