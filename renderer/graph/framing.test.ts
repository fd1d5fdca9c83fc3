import { describe, expect, test } from 'vitest';
import { fitViewport, MAX_MARGIN, NODE_TEXT_MIN, openingViewport, panIntoView, READABLE_ZOOM, SCREEN_TEXT_MIN } from './framing';

const row = (n: number) => Array.from({ length: n }, (_, i) => ({ x: i * 244, y: 0, width: 200, height: 84 }));
const FIT = { padding: 0.2, maxZoom: 1.2 };
const CANVAS = { width: 1000, height: 700 };

describe('framing', () => {
  test('the readable zoom keeps the smallest node text at 12 px or more on screen', () => {
    expect(NODE_TEXT_MIN * READABLE_ZOOM).toBeGreaterThanOrEqual(SCREEN_TEXT_MIN);
    expect(NODE_TEXT_MIN * (READABLE_ZOOM - 0.01)).toBeLessThan(SCREEN_TEXT_MIN);
  });

  test('fitting centres every box with a margin of at most 32 px and never zooms past the maximum', () => {
    const view = fitViewport(row(4), CANVAS, FIT)!;
    // The row is 932 px wide: (1000 − 2 × 32) / 932.
    expect(view.zoom).toBeCloseTo((1000 - 2 * MAX_MARGIN) / 932);
    expect(((0 + 932) / 2) * view.zoom + view.x).toBeCloseTo(500);
    expect(fitViewport(row(1), CANVAS, FIT)?.zoom).toBe(1.2);
  });

  test('a top inset (the search box) keeps every fitted box below it, the graph centred in the rest', () => {
    const boxes = [...row(3), { x: 0, y: 300, width: 200, height: 84 }];
    const inset = { ...FIT, top: 52 };
    const whole = fitViewport(boxes, CANVAS, inset);
    expect(whole).not.toBeNull();
    const v = whole ?? { x: 0, y: 0, zoom: 1 };
    for (const b of boxes) expect(v.y + b.y * v.zoom).toBeGreaterThanOrEqual(52);
    const opened = openingViewport(row(40), row(40)[0] ?? null, CANVAS, inset);
    expect(opened?.viewport.y).toBeGreaterThanOrEqual(52);
  });

  test('panning into view moves the least, keeps the zoom, and leaves a node already in view alone', () => {
    const area = { left: 0, top: 52, right: 1000, bottom: 400 };
    const node = { x: 2000, y: 500, width: 200, height: 84 };
    const view = { x: 0, y: 0, zoom: 1 };
    const moved = panIntoView(view, [node], area, 24);
    expect(moved?.zoom).toBe(1);
    const at = moved ?? view;
    expect(at.x + (node.x + node.width) * at.zoom).toBe(1000 - 24);
    expect(at.y + (node.y + node.height) * at.zoom).toBe(400 - 24);
    expect(panIntoView(at, [node], area, 24)).toBeNull();
    // Two nodes that fit are both brought in; too far apart, the first one alone.
    const other = { x: 1500, y: 400, width: 200, height: 84 };
    const both = panIntoView(view, [node, other], area, 24) ?? view;
    for (const b of [node, other]) expect(both.x + b.x * both.zoom).toBeGreaterThanOrEqual(0);
    expect(both.y + other.y * both.zoom).toBeGreaterThanOrEqual(52);
    const far = panIntoView(view, [node, { ...other, x: -3000 }], area, 24) ?? view;
    expect(far.x + node.x * far.zoom).toBeGreaterThanOrEqual(0);
    // Never zooms out below readable.
    expect(panIntoView({ x: 0, y: 0, zoom: 0.2 }, [node], area, 24)?.zoom).toBe(READABLE_ZOOM);
  });

  test('a small graph fills the canvas up to the maximum zoom', () => {
    const view = fitViewport(row(2), CANVAS, FIT)!;
    expect(view.zoom).toBe(1.2);
  });

  test('a graph readable when fitted opens whole', () => {
    expect(openingViewport(row(4), null, CANVAS, FIT)?.whole).toBe(true);
  });

  test('a graph too big to read when fitted opens at the readable zoom, never below it', () => {
    for (const n of [6, 50, 300, 2000]) {
      const opened = openingViewport(row(n), null, CANVAS, FIT)!;
      expect(opened.whole).toBe(false);
      expect(opened.viewport.zoom).toBe(READABLE_ZOOM);
    }
  });

  test('a big graph opens with its focus on screen, as near the graph centre as that allows', () => {
    const boxes = row(500);
    const focus = boxes[499]!;
    const { viewport } = openingViewport(boxes, focus, CANVAS, FIT)!;
    const left = focus.x * viewport.zoom + viewport.x;
    const right = (focus.x + focus.width) * viewport.zoom + viewport.x;
    expect(left).toBeGreaterThanOrEqual(0);
    expect(right).toBeLessThanOrEqual(CANVAS.width);
    // The tip is the last box: the view ends at it, with the margin, so the chain leading to it is in view.
    expect(right).toBeCloseTo(CANVAS.width - MAX_MARGIN);
    const top = focus.y * viewport.zoom + viewport.y;
    expect(top).toBeGreaterThan(0);
    expect(top + focus.height * viewport.zoom).toBeLessThan(CANVAS.height);
  });

  test('a graph a little too wide keeps its centre when its focus is already on screen', () => {
    const boxes = row(6);
    const { viewport } = openingViewport(boxes, boxes[3]!, CANVAS, FIT)!;
    const width = 5 * 244 + 200;
    expect((width / 2) * viewport.zoom + viewport.x).toBeCloseTo(500);
  });
});
