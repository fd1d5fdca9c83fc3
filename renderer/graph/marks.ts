/**
 * Performance marks the render benchmark reads (`performance.getEntriesByName`): when a scan reached the store,
 * and when a graph built from it was first on screen. Marks cost a few microseconds and record nothing else.
 */
export type MarkName = 'scan-ready' | 'graph-painted' | 'files-layout-start' | 'files-painted';

export function mark(name: MarkName): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(`snaptree:${name}`);
}

/**
 * Marks once the next frame has been painted: a task queued from a frame's animation callback runs after that
 * frame is drawn, so what was rendered before it is on screen by then.
 */
export function markAfterPaint(name: MarkName): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const frame = requestAnimationFrame(() => {
    timer = setTimeout(() => mark(name), 0);
  });
  return () => {
    cancelAnimationFrame(frame);
    clearTimeout(timer);
  };
}
