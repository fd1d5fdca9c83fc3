/**
 * The snapshot canvas keeps what the user works on in sight, on the demo at 1280×720: both sides of a comparison
 * above the docked panel (and Esc clears the comparison's marks), the landing node after Take snapshot and after
 * Delete snapshot, and a branch whose snapshot was deleted keeps its place with an edge to the file it grows from.
 */
import type { Page } from '@playwright/test';
import { expect, startServe, stop, test } from './fixtures';

/** Whether the node is wholly inside the part of the graph canvas on screen, below the search box. */
async function inView(page: Page, name: string): Promise<boolean> {
  const canvas = await page.getByTestId('graph-canvas').boundingBox();
  const search = await page.locator('.graph-search').boundingBox();
  const node = await page.getByTestId(`node-${name}`).boundingBox();
  if (canvas === null || node === null) return false;
  const top = search === null ? canvas.y : search.y + search.height;
  return node.x >= canvas.x && node.y >= top && node.x + node.width <= canvas.x + canvas.width && node.y + node.height <= canvas.y + canvas.height;
}

const expectInView = async (page: Page, name: string) => expect.poll(() => inView(page, name), { message: `${name} in view`, timeout: 5000 }).toBe(true);

/** The dark theme, as the theme button sets it. */
const dark = (page: Page) =>
  page.evaluate(() => {
    document.documentElement.dataset.theme = 'dark';
  });

/** Confirms the open plan and waits until it is done. */
async function confirmPlan(page: Page): Promise<void> {
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
}

/** Goes to a node with the search box, as a user would when it is out of sight. */
async function find(page: Page, name: string): Promise<void> {
  await page.getByTestId('graph-canvas').focus();
  await page.keyboard.press('/');
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  await expectInView(page, name);
}

test.describe('the canvas keeps what the user works on in view', () => {
  test.use({ viewport: { width: 1280, height: 720 } });

  test('a comparison shows both sides above its panel; Esc clears it, its marks and "Compare with"', async ({ page, demo, shot }) => {
    await page.goto(demo.url);
    await page.getByTestId('node-main').click();
    await page.getByTestId('node-experiment').click({ modifiers: ['Control'] });
    await expect(page.getByTestId('compare-panel').getByTestId('verdict')).toBeVisible();
    await expectInView(page, 'main');
    await expectInView(page, 'experiment');
    await shot(page, 'canvas-compare-in-view-1280');
    await dark(page);
    await shot(page, 'canvas-compare-in-view-1280-dark');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('compare-panel')).toHaveCount(0);
    await expect(page.getByTestId('compare-selected')).toHaveCount(0);
    await expect(page.getByTestId('side-A')).toHaveCount(0);
    await expect(page.getByTestId('side-B')).toHaveCount(0);
    await shot(page, 'canvas-compare-closed-1280');
  });

  test('the landing node is in view after Take snapshot and after Delete snapshot; experiment keeps its place', async ({ page, shot }) => {
    // A demo lab of its own: the snapshot taken and the one deleted here must not change the other files' shared demo.
    const { child, server: demo } = await startServe(['--demo']);
    try {
      await landAndKeep(page, demo.url, shot);
    } finally {
      await stop(child);
    }
  });
});

/** Take snapshot, then delete snap1: the landing node stays in view, and experiment below snap2 with its shared-base edge. */
async function landAndKeep(page: Page, url: string, shot: (page: Page, name: string) => Promise<void>): Promise<void> {
  await page.goto(url);
  await expect(page.getByTestId('node-main')).toBeVisible();
  const below = async () => {
    const snap2 = await page.getByTestId('node-snap2').boundingBox();
    const experiment = await page.getByTestId('node-experiment').boundingBox();
    return snap2 !== null && experiment !== null && experiment.y > snap2.y + snap2.height / 2;
  };
  expect(await below()).toBe(true);

  await page.getByTestId('take-snapshot').click();
  await page.getByTestId('take-snapshot-dialog').getByRole('textbox', { name: 'Name' }).press('Enter');
  await confirmPlan(page);
  await expectInView(page, 'main');
  await shot(page, 'canvas-take-done-1280');

  await find(page, 'snap1');
  await page.keyboard.press('Enter');
  await page.getByRole('menuitem', { name: 'Delete snapshot…' }).click();
  await confirmPlan(page);
  await expect(page.getByTestId('node-snap1')).toHaveCount(0);
  await expectInView(page, 'main');
  await shot(page, 'canvas-delete-done-1280');

  await find(page, 'experiment');
  await find(page, 'snap2');
  expect(await below()).toBe(true);
  const shared = page.locator('.react-flow__edge.edge-shared-base');
  await expect(shared).toHaveCount(1);
  await expect(shared).toHaveAttribute('aria-label', /experiment and snap2 grow from the same base file base\.qcow2/);
  await shot(page, 'canvas-after-delete-1280');
  await dark(page);
  await shot(page, 'canvas-after-delete-1280-dark');
}
