/**
 * Fold-commit in the browser against real libvirt: the current branch's menu offers to fold it into snap3 and
 * delete snap3; the preview says so and shows the qemu-img commit; after it, snap3 is gone and the domain runs on
 * snap3's saved state. Then the app's own delete is not a health warning, while a write the app did not make is,
 * and that one can be acknowledged with a reason.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { diskSource, img, MiB, seedLab, write } from './seed-lab';

const lab = seedLab('e2e-fold');

/** Runs the domain's health check from the toolbar, or from its More menu when the bar is full, and waits for it to end. */
async function checkHealth(page: Page): Promise<void> {
  const button = page.getByTestId('action-bar').getByRole('button', { name: /Check health/ });
  if ((await button.count()) > 0) {
    await button.click();
  } else {
    await page.getByTestId('toolbar-more').click();
    await page.getByRole('menuitem', { name: /Check health/ }).click();
  }
  // The details panel's own check button says "Checking…" until the check ends.
  await expect(page.getByTestId('details-panel').getByTestId('health-section').getByRole('button', { name: /^Check (this file|the domain)/ })).toBeVisible({ timeout: 60_000 });
}

/** The toolbar's health summary says `text`, wherever the toolbar put it: in the bar, or in its More menu when the bar is full. */
async function expectHealthSummary(page: Page, text: string): Promise<void> {
  const chip = page.getByTestId('health-summary');
  if ((await chip.count()) > 0) return expect(chip).toHaveText(text);
  await page.getByTestId('toolbar-more').click();
  await expect(page.getByTestId('toolbar-menu')).toContainText(text);
  await page.keyboard.press('Escape');
}

test('fold the current branch into snap3; the app\u2019s own delete raises no health warning; a foreign write can be acknowledged', async ({ page, shot }) => {
  const domain = lab.buildSeed('otter');
  const tip = diskSource(domain);
  const snap3State = img('info', '--output=json', '-U', tip).match(/"backing-filename": "([^"]+)"/)?.[1] ?? '';
  const started = Date.now();
  await page.goto(lab.url);
  await page.getByTestId(`domain-${domain}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);

  // The branch's menu offers the fold where a plain commit would be refused.
  await page.getByTestId('node-main').click({ button: 'right' });
  const fold = page.getByRole('menuitem', { name: /Fold into snap3 and delete snapshot snap3/ });
  await expect(fold).toHaveAttribute('aria-disabled', 'false');
  await expect(page.getByRole('menuitem', { name: /Commit into its backing file/ })).toHaveCount(0);
  await shot(page, 'fold-1-menu');
  await fold.click();
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByTestId('plan-summary')).toContainText("Branch main's changes are folded into the saved state of snapshot snap3, and snapshot snap3 is deleted");
  await dialog.getByText('Files and exact commands').click();
  await expect(dialog.getByTestId('plan-commands')).toContainText(`qemu-img commit -f qcow2 -p -d -b ${snap3State} -- ${tip}`);
  await expect(dialog.getByTestId('plan-commands')).toContainText('snapshot-delete');
  await shot(page, 'fold-2-preview');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
  await expect(page.getByTestId('node-snap3')).toHaveCount(0);
  await expect(page.getByTestId('node-snap2')).toBeVisible();
  await expect(page.getByTestId('node-main')).toBeVisible();
  expect(diskSource(domain)).toBe(snap3State);
  await shot(page, 'fold-3-after');

  // Delete snap1: its overlay is committed into the base file, which snap2's file builds on. The app wrote it: no warning.
  await page.waitForTimeout(Math.max(0, 2500 - (Date.now() - started)));
  await page.getByTestId('node-snap1').click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Delete snapshot…' }).click();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('node-snap1')).toHaveCount(0);
  await checkHealth(page);
  await expectHealthSummary(page, '2 files healthy');
  await expect(page.getByTestId('health-badge')).toHaveCount(0);
  await page.getByTestId('node-snap2').click();
  const health = page.getByTestId('details-panel').getByTestId('health-section');
  await expect(health.getByTestId('health-verdict')).toHaveText('qemu-img check found nothing wrong.');
  await shot(page, 'fold-4-health-after-delete');

  // A write the app did not make is a warning; acknowledged with a reason, it is set aside and no longer counted.
  const base = join(lab.dir, 'otter.qcow2');
  write(base, 99, 40 * MiB);
  await checkHealth(page);
  await expectHealthSummary(page, '1 file needs attention');
  await expect(health).toContainText('It was written after');
  await health.getByTestId('ack-open').click();
  await health.getByRole('textbox').fill('test data written on purpose');
  await shot(page, 'fold-5-acknowledge');
  await health.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await expect(health.getByTestId('ack-note')).toContainText('Acknowledged: test data written on purpose');
  await expect(health).not.toContainText('It was written after');
  await checkHealth(page);
  await expectHealthSummary(page, '2 files healthy');
  await expect(health.getByTestId('ack-note')).toBeVisible();
  await shot(page, 'fold-6-acknowledged');
});

test('a fold that many branches refuse says how many in a few words, the whole list on hover, the menu on screen', async ({ page, shot }) => {
  const domain = lab.buildSeed('badger');
  const state = img('info', '--output=json', '-U', diskSource(domain)).match(/"backing-filename": "([^"]+)"/)?.[1] ?? '';
  // Twelve loose tips on snap3's saved state: files nobody records, shown as branches.
  const others = Array.from({ length: 12 }, (_, i) => `badger-side${String(i + 1).padStart(2, '0')}.qcow2`);
  for (const name of others) img('create', '-q', '-f', 'qcow2', '-b', state, '-F', 'qcow2', join(lab.dir, name));
  await page.goto(lab.url);
  await page.getByTestId(`domain-${domain}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);
  await page.getByTestId('node-main').click({ button: 'right' });
  const fold = page.getByRole('menuitem', { name: /Fold into snap3 and delete snapshot snap3/ });
  await expect(fold).toHaveAttribute('aria-disabled', 'true');
  await expect(fold.locator('.node-menu-reason')).toHaveText(
    'Cannot fold: badger.snap2 is also used by 12 other branches (badger-side01.qcow2, badger-side02.qcow2, badger-side03.qcow2, badger-side04.qcow2, badger-side05.qcow2, and 7 more). The branch stays as it is; delete those first if you no longer need them.',
  );
  await expect(fold).toHaveAttribute('title', /badger-side12\.qcow2 is built on it/);
  const box = await page.getByTestId('node-menu').boundingBox();
  const viewport = page.viewportSize();
  expect(box !== null && viewport !== null && box.y + box.height <= viewport.height && box.x + box.width <= viewport.width).toBe(true);
  await shot(page, 'fold-7-refused-collapsed');
});

