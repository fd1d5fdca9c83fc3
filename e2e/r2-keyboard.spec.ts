/**
 * The keyboard never drops to the page: after Esc closes the node menu, after the plan dialog closes and after V
 * switches between the snapshot graph and the file view, the canvas has the keys, so the next key (another Esc,
 * an arrow) does what the one keymap says; and a canvas is one stop in the Tab order, not one per node and edge.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

/** The test id of the element that has the keyboard. */
const focused = (page: Page): Promise<string | null> => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);

test('Esc on the menu, closing the plan dialog and V leave the keys on a canvas', async ({ page, demo }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(demo.url);
  await expect(page.getByTestId('node-snap3')).toBeVisible();
  const title = page.getByTestId('details-panel').getByTestId('details-title');

  // Menu, then Esc twice: the menu closes, then the selection clears.
  await page.getByTestId('node-snap2').click();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-menu')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('node-menu')).toHaveCount(0);
  expect(await focused(page)).toBe('graph-canvas');
  await expect(title).toHaveText('snap2');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('node-snap2')).not.toHaveClass(/is-selected/);

  // The plan dialog opened from the menu and closed with Esc: the keys are back on the graph.
  await page.getByTestId('node-snap3').click();
  await page.keyboard.press('Enter');
  await page.getByTestId('node-menu').getByRole('menuitem', { name: /Delete snapshot/ }).click();
  await expect(page.getByTestId('plan-dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('plan-dialog')).toHaveCount(0);
  expect(await focused(page)).toBe('graph-canvas');
  await page.keyboard.press('ArrowLeft');
  await expect(title).toHaveText('snap2');

  // V to the files and back: each canvas takes the keys as it comes.
  await page.keyboard.press('v');
  await expect(page.getByTestId('file-canvas')).toBeVisible();
  await expect.poll(() => focused(page)).toBe('file-canvas');
  await page.keyboard.press('Home');
  await expect(title).not.toHaveText('snap2');
  await page.keyboard.press('v');
  await expect(page.getByTestId('graph-canvas')).toBeVisible();
  await expect.poll(() => focused(page)).toBe('graph-canvas');

  // The canvas is one stop of the Tab order: Tab leaves it, not into its nodes and edges one by one.
  await page.keyboard.press('Tab');
  const next = await page.evaluate(() => document.activeElement?.closest('.react-flow__node, .react-flow__edge') !== null);
  expect(next).toBe(false);
  expect(errors).toEqual([]);
});

test('the node menu stays inside a small window, scrolls when taller, and never has a destructive item chosen first', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 1024, height: 480 });
  await page.goto(demo.url);
  // The graph opens readable on You are here: snap3 is beside it.
  const node = page.getByTestId('node-snap3');
  await expect(node).toBeVisible();
  // Opened from the keyboard on a node low in a short window: the menu, taller than the room below it, moves up.
  await node.click();
  await page.keyboard.press('Enter');
  const menu = page.getByTestId('node-menu');
  await expect(menu).toBeVisible();
  const size = page.viewportSize() ?? { width: 0, height: 0 };
  await expect.poll(async () => {
    const m = await menu.boundingBox();
    return m !== null && m.x >= 0 && m.y >= 0 && m.x + m.width <= size.width && m.y + m.height <= size.height;
  }).toBe(true);
  // What Enter would choose is highlighted: not a delete or a discarding revert.
  const chosen = menu.locator('.node-menu-item.is-active');
  await expect(chosen).toHaveCount(1);
  await expect(chosen).not.toHaveClass(/is-danger/);
  await shot(page, 'r2-menu-small-window');
});
