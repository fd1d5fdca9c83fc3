/**
 * axe-core on every screen of the app, light and dark: the empty state, the domain graph, the files view, the node
 * menu, the plan dialog, the compare panel, the details of a snapshot, a branch and a file, the health report and
 * the trash. A serious or critical violation fails (e2e/axe.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expectNoSeriousViolations } from './axe';
import { expect, startServe, stop, test } from './fixtures';

/** Sets the theme through its switch until the page is in `theme`. */
async function useTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  for (let i = 0; i < 2; i++) {
    if ((await page.evaluate(() => document.documentElement.dataset.theme)) === theme) return;
    await page.getByRole('button', { name: 'Toggle light and dark theme' }).click();
  }
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
}

/** Checks the page with axe and keeps a screenshot of it. */
async function check(page: Page, shot: (page: Page, name: string) => Promise<void>, name: string): Promise<void> {
  await shot(page, `a11y-${name}`);
  await expectNoSeriousViolations(page, name);
}

test('the empty state has no serious accessibility violation', async ({ page, shot }) => {
  const dir = mkdtempSync(join(tmpdir(), 'snaptree-a11y-'));
  const { child, server } = await startServe(['--folder', dir], { SNAPTREE_DATA_DIR: join(dir, '.data') });
  try {
    await page.goto(server.url);
    await expect(page.locator('.empty-state')).toBeVisible();
    for (const theme of ['light', 'dark'] as const) {
      await useTheme(page, theme);
      await check(page, shot, `empty-${theme}`);
    }
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const theme of ['light', 'dark'] as const) {
  test(`every screen of a domain, ${theme}`, async ({ page, demo, shot }) => {
    test.setTimeout(180_000);
    await page.goto(demo.url);
    await expect(page.getByTestId('node-snap3')).toBeVisible();
    await useTheme(page, theme);
    await check(page, shot, `graph-${theme}`);

    // Details of a snapshot and of a branch.
    await page.getByTestId('node-snap1').click();
    await expect(page.getByTestId('details-title')).toHaveText('snap1');
    await check(page, shot, `snapshot-details-${theme}`);
    await page.getByTestId('node-main').click();
    await expect(page.getByTestId('details-title')).toHaveText('main');
    await check(page, shot, `branch-details-${theme}`);

    // The node menu, then the plan dialog of a destructive and of a creating plan.
    await page.getByTestId('node-snap2').click({ button: 'right' });
    await expect(page.getByTestId('node-menu')).toBeVisible();
    await check(page, shot, `node-menu-${theme}`);
    await page.getByRole('menuitem', { name: /Delete snapshot/ }).click();
    const dialog = page.getByTestId('plan-dialog');
    await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
    await check(page, shot, `plan-delete-${theme}`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('node-snap1').click({ button: 'right' });
    await page.getByRole('menuitem', { name: /Revert with new branch/ }).click();
    await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
    await dialog.locator('summary').click();
    await check(page, shot, `plan-revert-${theme}`);
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);

    // The compare panel.
    await page.getByTestId('node-main').click();
    await page.getByTestId('node-experiment').click({ modifiers: ['Control'] });
    const compare = page.getByTestId('compare-panel');
    if (!(await compare.isVisible())) await page.getByTestId('compare-selected').click();
    await expect(compare.getByTestId('verdict')).toBeVisible({ timeout: 30_000 });
    await check(page, shot, `compare-${theme}`);
    await compare.getByRole('button', { name: 'Close the comparison' }).click();
    // Closed with its button, the keyboard goes to the graph, not to the page.
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('graph-canvas');

    // The toolbar's More menu, and the health report (Check health is in the toolbar, or in More when it is full).
    const bar = page.getByTestId('action-bar');
    const more = bar.getByRole('button', { name: /^More/ });
    if (await more.isVisible()) {
      await more.click();
      await expect(page.getByTestId('toolbar-menu')).toBeVisible();
      await check(page, shot, `toolbar-menu-${theme}`);
      await page.keyboard.press('Escape');
    }
    const checkHealth = bar.getByRole('button', { name: 'Check health' });
    if (await checkHealth.isVisible()) await checkHealth.click();
    else {
      await more.click();
      await page.getByRole('menuitem', { name: /Check health/ }).click();
    }
    await expect(page.getByTestId('details-panel')).not.toContainText('Not checked yet', { timeout: 30_000 });
    await check(page, shot, `health-${theme}`);

    // The files view and a file's details.
    await page.getByTestId('view-files').click();
    const canvas = page.getByTestId('file-canvas');
    await expect(canvas).toBeVisible();
    // The view opens on the current file: take whichever file is drawn first.
    const file = canvas.locator('[data-testid^="file-"]').first();
    const name = ((await file.getAttribute('data-testid')) ?? '').slice('file-'.length);
    await file.click();
    await expect(page.getByTestId('details-title')).toHaveText(name);
    await check(page, shot, `file-details-${theme}`);

    // The operations log and the trash.
    await page.getByRole('tab', { name: 'Operations log' }).click();
    await check(page, shot, `log-${theme}`);
    await page.getByRole('tab', { name: 'Trash' }).click();
    await expect(page.getByRole('tab', { name: 'Trash' })).toHaveAttribute('aria-selected', 'true');
    await check(page, shot, `trash-${theme}`);
  });
}

test('at 1024×700 a long plan keeps Confirm in view, its body scrolls, and the nodes it marks stay in sight beside it', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.goto(demo.url);
  // The view opens on You are here; from there, left to snap1 and r: revert, discarding the current state.
  await page.getByTestId('node-main').click();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
  await expect(page.getByTestId('node-snap1')).toHaveClass(/is-selected/);
  await page.keyboard.press('r');
  const dialog = page.getByTestId('plan-dialog');
  const confirm = dialog.getByRole('button', { name: 'Confirm' });
  await expect(confirm).toBeEnabled();
  await dialog.locator('summary').click();
  expect(await dialog.locator('.plan-steps li').count()).toBeGreaterThanOrEqual(6);
  // Confirm stays inside the window; the body scrolls under it.
  const box = await confirm.boundingBox();
  expect(box !== null && box.y + box.height <= 700 && box.x + box.width <= 1024).toBe(true);
  expect(await dialog.locator('.plan-dock-body').evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
  await shot(page, 'plan-1024x700');
  // The node acted on and where You are here lands are in sight, between the canvas's left edge and the dock.
  const dockLeft = (await dialog.boundingBox())?.x ?? 0;
  const canvasLeft = (await page.getByTestId('graph-canvas').boundingBox())?.x ?? 0;
  for (const node of [page.getByTestId('node-snap1'), page.getByTestId('you-will-be-here')]) {
    await expect
      .poll(async () => {
        const b = await node.boundingBox();
        return b !== null && b.x >= canvasLeft && b.x + b.width <= dockLeft;
      })
      .toBe(true);
  }
  await expectNoSeriousViolations(page, 'plan at 1024x700');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
});

test('at 800 wide the plan docks at the bottom, the graph above it, Confirm in view', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 800, height: 700 });
  await page.goto(demo.url);
  await page.getByTestId('node-main').click();
  await page.keyboard.press('ArrowLeft');
  await expect(page.getByTestId('node-snap3')).toHaveClass(/is-selected/);
  await page.keyboard.press('b');
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  const dock = await dialog.boundingBox();
  expect(dock !== null && dock.x === 0 && dock.width === 800 && dock.y > 300).toBe(true);
  const confirm = await dialog.getByRole('button', { name: 'Confirm' }).boundingBox();
  expect(confirm !== null && confirm.y + confirm.height <= 700).toBe(true);
  await expect.poll(async () => ((await page.getByTestId('you-will-be-here').boundingBox())?.y ?? 1e9) + 20 <= (dock?.y ?? 0)).toBe(true);
  await shot(page, 'plan-800x700');
  await expectNoSeriousViolations(page, 'plan at 800x700');
});
