/**
 * The seed use in the browser against real libvirt: click snap1, revert with a new branch, watch the graph
 * fork; then switch back, delete snap2, and see a refused commit explain itself. Then the same fork by keyboard.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { diskSource, img, MiB, seedLab } from './seed-lab';

const lab = seedLab('e2e');

async function openDomain(page: Page, domain: string): Promise<void> {
  await page.goto(lab.url);
  await page.getByTestId(`domain-${domain}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);
  await expect(page.getByTestId('node-snap3')).toBeVisible();
}

async function runFromMenu(page: Page, node: string, item: string, shot: (page: Page, name: string) => Promise<void>, shotName?: string): Promise<void> {
  await page.getByTestId(`node-${node}`).click({ button: 'right' });
  await page.getByRole('menuitem', { name: item }).click();
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  if (shotName) await shot(page, shotName);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
}

test('seed: revert snap1 with a new branch, switch back, delete snap2, a refused commit explains itself', async ({ page, shot }) => {
  const domain = lab.buildSeed('mouse');
  const state1 = join(lab.dir, 'mouse.qcow2');
  await openDomain(page, domain);
  await shot(page, 'ops-1-before');

  // Right-click snap1 → Revert with new branch → type snap1.1.
  await page.getByTestId('node-snap1').click({ button: 'right' });
  await expect(page.getByTestId('node-menu')).toBeVisible();
  await shot(page, 'ops-2-menu');
  await page.getByRole('menuitem', { name: 'Revert with new branch…' }).click();
  const dialog = page.getByTestId('plan-dialog');
  const name = dialog.getByRole('textbox', { name: 'New branch name' });
  await name.fill('bad/name');
  await expect(dialog).toContainText('cannot contain "/"');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeDisabled();
  // A name in use is refused in words; the code stays out of the text.
  await name.fill('main');
  const refusal = dialog.getByTestId('plan-refusal');
  await expect(refusal).toContainText('cannot both be named "main"');
  await expect(refusal).not.toContainText('E_NAME_TAKEN');
  await expect(refusal.locator('.error-words')).toHaveAttribute('data-code', 'E_NAME_TAKEN');
  await shot(page, 'ops-2b-refused-in-words');
  await name.fill('snap1.1');
  // The preview names the exact command and draws the new node on the graph.
  await expect(dialog.getByTestId('plan-commands')).toContainText(`qemu-img create -q -f qcow2 -b ${state1} -F qcow2`);
  await expect(page.getByTestId('ghost-snap1.1')).toBeVisible();
  await expect(page.getByTestId('node-main')).toHaveAttribute('data-mark', 'changed');
  await shot(page, 'ops-3-preview');
  await dialog.getByRole('button', { name: 'Confirm' }).click();

  // The graph forks: snap1 leads to snap2 and to snap1.1, where You are here.
  await expect(page.getByTestId('node-snap1.1')).toHaveAttribute('data-current', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('node-main')).toHaveAttribute('data-current', 'false');
  // snap1→snap2, snap2→snap3, snap3→main, and the new fork snap1→snap1.1.
  await expect(page.locator('.react-flow__edge')).toHaveCount(4);
  await expect(page.getByTestId('you-are-here')).toHaveCount(1);
  await shot(page, 'ops-4-forked');
  const overlay = diskSource(domain);
  expect(overlay).toBe(join(lab.dir, `${domain}.snap1.1.vda.qcow2`));
  expect(JSON.parse(img('info', '--output=json', overlay))['full-backing-filename']).toBe(state1);

  // Switch back to main.
  await runFromMenu(page, 'main', 'Switch to this branch…', shot, 'ops-5-switch-preview');
  await expect(page.getByTestId('node-main')).toHaveAttribute('data-current', 'true');
  await shot(page, 'ops-6-switched');

  // Delete snap2.
  await runFromMenu(page, 'snap2', 'Delete snapshot…', shot, 'ops-7-delete-preview');
  await expect(page.getByTestId('node-snap2')).toHaveCount(0);
  await expect(page.getByTestId('node-snap3')).toBeVisible();
  await shot(page, 'ops-8-deleted');

  // A commit into a file others depend on is refused, with the engine's reason.
  await page.getByTestId('node-snap1.1').click({ button: 'right' });
  // Its backing file holds snap1's saved state only, so the commit is offered as a fold into snap1, refused in a few words.
  const commit = page.getByRole('menuitem', { name: /Fold into snap1 and delete snapshot snap1/ });
  await expect(commit).toHaveAttribute('aria-disabled', 'true');
  await expect(commit).toContainText('is also used by');
  await shot(page, 'ops-9-commit-refused');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('node-menu')).toHaveCount(0);

  // The operations log keeps what ran, with its commands; the trash holds what the delete moved away.
  await page.getByRole('tab', { name: 'Operations log' }).click();
  await expect(page.getByTestId('ops-log').locator('li.log-entry')).toHaveCount(3);
  await expect(page.getByTestId('ops-log')).toContainText('Delete snapshot');
  await shot(page, 'ops-10-log');
  await page.getByRole('tab', { name: 'Trash' }).click();
  await expect(page.getByTestId('trash-panel')).toContainText('mouse.snap2');
  await shot(page, 'ops-11-trash');
});

test('keyboard only: the same fork without a mouse', async ({ page, shot }) => {
  const domain = lab.buildSeed('keys');
  await page.goto(lab.url);
  // Tab to the domain in the sidebar and open it: however many other domains the shared daemon lists before it.
  await expect(page.getByTestId(`domain-${domain}`)).toBeVisible();
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  // The domain list is one tab stop: Tab into it, then the arrows.
  for (let i = 0; i < 60 && !((await focused()) ?? '').startsWith('domain-'); i++) await page.keyboard.press('Tab');
  for (let i = 0; i < 500 && (await focused()) !== `domain-${domain}`; i++) await page.keyboard.press('ArrowDown');
  expect(await focused()).toBe(`domain-${domain}`);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('current-domain')).toHaveText(domain);
  // Tab on to the graph, go to You are here, then left to snap1.
  for (let i = 0; i < 40 && (await focused()) !== 'graph-canvas'; i++) await page.keyboard.press('Tab');
  expect(await focused()).toBe('graph-canvas');
  await page.keyboard.press('End');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
  await expect(page.getByTestId('details-title')).toHaveText('snap1');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-menu')).toBeVisible();
  await page.keyboard.press('b');
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog).toBeVisible();
  await page.keyboard.type('by-keys');
  await expect(dialog.getByTestId('plan-commands')).toContainText('by-keys');
  await shot(page, 'ops-keys-preview');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-by-keys')).toHaveAttribute('data-current', 'true', { timeout: 60_000 });
  await shot(page, 'ops-keys-forked');
  expect(diskSource(domain)).toBe(join(lab.dir, `${domain}.by-keys.vda.qcow2`));
});

test('connections: add an image folder, keep it across a reload, remove it', async ({ page, shot }) => {
  const folder = join(lab.dir, 'images');
  execFileSync('mkdir', ['-p', folder]);
  img('create', '-q', '-f', 'qcow2', join(folder, 'disk.qcow2'), String(16 * MiB));
  img('create', '-q', '-f', 'qcow2', '-b', 'disk.qcow2', '-F', 'qcow2', join(folder, 'work.qcow2'));
  await page.goto(lab.url);
  const input = page.getByRole('textbox', { name: 'Add a connection or an image folder' });
  await input.fill('-c evil');
  await expect(page.getByText('A connection URI looks like qemu:///system.')).toBeVisible();
  await input.fill(folder);
  await page.getByRole('button', { name: 'Open folder' }).click();
  await expect(page.getByTestId('domain-disk.qcow2')).toBeVisible();
  await expect(page.getByTestId('node-work.qcow2')).toBeVisible();
  await shot(page, 'ops-12-folder-added');
  await page.reload();
  await expect(page.getByTestId('domain-disk.qcow2')).toBeVisible();
  await page.getByRole('button', { name: `Remove ${folder}` }).click();
  await expect(page.getByTestId('domain-disk.qcow2')).toHaveCount(0);
});
