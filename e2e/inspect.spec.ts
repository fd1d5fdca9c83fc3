import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

/** The graph is framed again when the comparison panel takes its space; let that settle before a screenshot. */
const settle = (page: Page) => page.waitForTimeout(500);

test.describe('inspecting the demo: compare, file view, health', () => {
  test('two branch tips selected together: the divergence map shows the regions each side wrote since the fork', async ({ page, demo, shot }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(demo.url);
    await expect(page.getByTestId('node-main')).toBeVisible();

    await page.getByTestId('node-main').click();
    // Ctrl+click on a second node compares the two at once.
    await page.getByTestId('node-experiment').click({ modifiers: ['Control'] });
    const panel = page.getByTestId('compare-panel');
    await expect(panel.getByTestId('verdict')).toContainText('Different: first difference at 24.0 MiB');
    await expect(panel).toContainText('They fork at base.qcow2 (the saved state of snap1)');
    // experiment wrote 6 MiB at 24 MiB; main wrote from 24 MiB on through snap1, snap2, snap3 and its tip.
    const b = panel.getByTestId('strip-b').locator('.strip-extent');
    await expect(b).toHaveCount(1);
    await expect(b).toHaveAttribute('data-start', String(24 * MiB));
    await expect(b).toHaveAttribute('data-length', String(6 * MiB));
    await expect(panel.getByTestId('strip-a').locator('.strip-extent').first()).toHaveAttribute('data-start', String(24 * MiB));
    const both = panel.getByTestId('strip-both').locator('.strip-extent');
    await expect(both).toHaveCount(1);
    await expect(both).toHaveAttribute('data-length', String(6 * MiB));
    // The two nodes wear their side on the graph.
    await expect(page.getByTestId('node-main').getByTestId('side-A')).toBeVisible();
    await expect(page.getByTestId('node-experiment').getByTestId('side-B')).toBeVisible();
    await settle(page);
    await shot(page, 'inspect-compare-branches');
    expect(errors).toEqual([]);
  });

  test('"Compare with…" from the menu, picking the other node by clicking it', async ({ page, demo, shot }) => {
    await page.goto(demo.url);
    await page.getByTestId('node-snap2').click({ button: 'right' });
    await page.getByRole('menuitem', { name: /Compare with/ }).click();
    await expect(page.getByTestId('pick-banner')).toContainText('snap2');
    await shot(page, 'inspect-pick');
    await page.getByTestId('node-snap3').click();
    const panel = page.getByTestId('compare-panel');
    await expect(panel.getByTestId('verdict')).toContainText('Different: first difference at 36.0 MiB');
    // snap3's saved state builds on snap2's: snap2 added nothing since, snap3 added base.snap2's 8 MiB.
    await expect(panel.getByTestId('strip-a').locator('.strip-extent')).toHaveCount(0);
    await expect(panel.getByTestId('strip-b').locator('.strip-extent')).toHaveAttribute('data-length', String(8 * MiB));
    await expect(page.getByTestId('pick-banner')).toHaveCount(0);
  });

  test('the file view: one box per file, backing links, frozen files, and a health check', async ({ page, demo, shot }) => {
    // Four columns of files are shown whole only where they stay readable: a wide window, beside both panels.
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(demo.url);
    await page.getByTestId('view-files').click();
    const canvas = page.getByTestId('file-canvas');
    for (const file of ['base.qcow2', 'base.snap1', 'base.snap2', 'base.snap3', 'base.experiment']) {
      await expect(canvas.getByTestId(`file-${file}`)).toBeVisible();
    }
    await expect(page.getByTestId('disk-group-vda')).toBeVisible();
    // The tidy tree lays the files out on the page in milliseconds: no layout worker is started.
    expect(page.workers()).toHaveLength(0);
    // base ← snap1 ← snap2 ← snap3 (main's tip), and base ← experiment: five files, four links.
    await expect(canvas.locator('.react-flow__node-file')).toHaveCount(5);
    await expect(canvas.locator('.react-flow__edge')).toHaveCount(4);
    await expect(canvas.getByTestId('file-base.qcow2')).toHaveAttribute('data-role', 'state');
    await expect(canvas.getByTestId('file-base.qcow2').getByLabel('frozen')).toBeVisible();
    await expect(canvas.getByTestId('file-base.experiment')).toHaveAttribute('data-role', 'tip');

    await canvas.getByTestId('file-base.qcow2').click();
    const details = page.getByTestId('details-panel');
    await expect(details.getByTestId('details-title')).toHaveText('base.qcow2');
    await expect(details.getByTestId('frozen-section')).toContainText('base.snap1 is built on it');
    await expect(details.getByTestId('frozen-section')).toContainText('base.experiment is built on it');
    await expect(details).toContainText('saved state of snap1');
    await expect(details).toContainText(/Owner/);
    // Keyboard: Right goes to a file built on it, Left back to the file it is built on.
    await page.keyboard.press('ArrowRight');
    await expect(details.getByTestId('details-title')).toHaveText(/^base\.(snap1|experiment)$/);
    await page.keyboard.press('ArrowLeft');
    await expect(details.getByTestId('details-title')).toHaveText('base.qcow2');

    await page.getByRole('button', { name: /Check health/ }).click();
    await expect(page.getByTestId('health-summary')).toHaveText('5 files healthy');
    await expect(details.getByTestId('health-verdict')).toHaveText('qemu-img check found nothing wrong.');
    await shot(page, 'inspect-files');

    await page.getByRole('button', { name: 'Toggle light and dark theme' }).click();
    await shot(page, 'inspect-files-dark');
    await page.getByRole('button', { name: 'Toggle light and dark theme' }).click();
  });

  test('raw layers: two files compared from the file view', async ({ page, demo, shot }) => {
    await page.goto(demo.url);
    await page.getByTestId('view-files').click();
    const canvas = page.getByTestId('file-canvas');
    await canvas.getByTestId('file-base.snap1').click();
    await page.getByTestId('details-panel').getByRole('button', { name: /Compare with/ }).click();
    await expect(page.getByTestId('pick-banner')).toContainText('base.snap1');
    await canvas.getByTestId('file-base.experiment').click();
    const panel = page.getByTestId('compare-panel');
    await expect(panel.getByTestId('verdict')).toContainText('Different: first difference at 24.0 MiB');
    // base.snap1 wrote 12 MiB at 24 MiB, base.experiment 6 MiB at 24 MiB, both over base.qcow2.
    await expect(panel.getByTestId('strip-a').locator('.strip-extent')).toHaveAttribute('data-length', String(12 * MiB));
    await expect(panel.getByTestId('strip-b').locator('.strip-extent')).toHaveAttribute('data-length', String(6 * MiB));
    await expect(canvas.getByTestId('file-base.snap1').getByTestId('side-A')).toBeVisible();
    await expect(canvas.getByTestId('file-base.experiment').getByTestId('side-B')).toBeVisible();
    await settle(page);
    await shot(page, 'inspect-compare-files');
  });

  test('by keyboard: Compare with… from the menu, Enter on the other node, Esc closes; V switches views', async ({ page, demo }) => {
    await page.goto(demo.url);
    await page.getByTestId('graph-canvas').focus();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.press('k');
    await expect(page.getByTestId('pick-banner')).toContainText('branch main');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Enter');
    const panel = page.getByTestId('compare-panel');
    await expect(panel).toContainText('branch main');
    await expect(panel).toContainText('snap3');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await expect(panel).toHaveCount(0);
    await page.keyboard.press('v');
    await expect(page.getByTestId('file-canvas')).toBeVisible();
    await page.getByTestId('file-canvas').focus();
    await page.keyboard.press('v');
    await expect(page.getByTestId('graph-canvas')).toBeVisible();
  });
});
