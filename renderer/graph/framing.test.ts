import { describe, expect, test } from 'vitest';
import { fitViewport, FOCUS_ZOOM, openingViewport } from './framing';

const row = (n: number) => Array.from({ length: n }, (_, i) => ({ x: i * 244, y: 0, width: 200, height: 68 }));
const FIT = { padding: 0.2, maxZoom: 1.2 };

describe('framing', () => {
  test('fitting centres every box and never zooms past the maximum', () => {
    const view = fitViewport(row(4), { width: 1000, height: 700 }, FIT)!;
    // The row is 932 px wide: 1000 / (932 × 1.4) = 0.766.
    expect(view.zoom).toBeCloseTo(1000 / (932 * 1.4));
    expect((0 + 932) / 2 * view.zoom + view.x).toBeCloseTo(500);
    expect(fitViewport(row(1), { width: 1000, height: 700 }, FIT)?.zoom).toBe(1.2);
  });

  test('a graph readable when fitted, or of a few hundred nodes at most, opens whole', () => {
    expect(openingViewport(row(4), null, { width: 1000, height: 700 }, FIT)?.whole).toBe(true);
    expect(openingViewport(row(200), null, { width: 500, height: 700 }, FIT)?.whole).toBe(true);
  });

  test('a graph too big to read when fitted opens centred on its focus at a readable zoom', () => {
    const boxes = row(500);
    const focus = boxes[300]!;
    const opened = openingViewport(boxes, focus, { width: 1000, height: 700 }, FIT)!;
    expect(opened.whole).toBe(false);
    expect(opened.viewport.zoom).toBe(FOCUS_ZOOM);
    expect((focus.x + focus.width / 2) * FOCUS_ZOOM + opened.viewport.x).toBeCloseTo(500);
    expect((focus.y + focus.height / 2) * FOCUS_ZOOM + opened.viewport.y).toBeCloseTo(350);
  });
});
