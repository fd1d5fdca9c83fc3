/**
 * A lost engine is noticed: when `serve` stops, a banner says so over the stale graph and nothing can be acted on;
 * when it comes back on the same port with the same token file, the banner goes by itself and the graph works, a
 * reload works too, and a link with a wrong token gets a page saying how to get a valid one. On the demo, the first
 * Take snapshot after a restart is planned and done on the new engine.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './fixtures';
import { freePort, startServe, stop } from './serve-process';

const MiB = 1024 * 1024;
let dir: string;
let child: ChildProcess | null = null;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'snaptree-lost-'));
  const images = join(dir, 'images');
  mkdirSync(images);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(images, 'disk.qcow2'), String(16 * MiB)]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'disk.qcow2', '-F', 'qcow2', join(images, 'work.qcow2')]);
});

test.afterAll(async () => {
  if (child !== null) await stop(child);
  rmSync(dir, { recursive: true, force: true });
});

test('serve stops: a banner and no actions; it comes back: the banner goes, the graph works, a reload works; a wrong token gets words', async ({ page, shot }) => {
  const port = await freePort();
  const args = ['--folder', join(dir, 'images'), '--port', String(port), '--token-file', join(dir, 'token')];
  const first = await startServe(args, { SNAPTREE_DATA_DIR: join(dir, 'data') });
  child = first.child;
  await page.goto(first.server.url);
  await page.getByTestId('domain-disk.qcow2').click();
  const node = page.getByTestId('node-work.qcow2');
  await expect(node).toBeVisible();
  await expect(page.getByTestId('live-status')).toContainText('Live');
  await node.click();

  // serve stops: the banner comes, the graph stays on screen but nothing in it can be acted on.
  await stop(child);
  child = null;
  const banner = page.getByTestId('engine-banner');
  await expect(banner).toContainText('Lost the engine — reconnecting…');
  await expect(node).toBeVisible();
  const inert = await page.evaluate(() => ['.canvas-area', '.sidebar', '.topbar'].map((s) => document.querySelector(s)?.closest('[inert]') !== null));
  expect(inert).toEqual([true, true, true]);
  await node.click({ button: 'right', force: true });
  await expect(page.getByTestId('node-menu')).toHaveCount(0);
  await shot(page, 'lost-engine-1-banner');
  // Meanwhile the folder changes: a second image grows from the base.
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'disk.qcow2', '-F', 'qcow2', join(dir, 'images', 'other.qcow2')]);

  // The same serve again, on the same port with the same token file: the page finds it by itself.
  const second = await startServe(args, { SNAPTREE_DATA_DIR: join(dir, 'data') });
  child = second.child;
  expect(second.server.url).toBe(first.server.url);
  await expect(banner).toHaveCount(0, { timeout: 20_000 });
  await expect(page.getByTestId('live-status')).toContainText('Live');
  // The rescan after the reconnect brings the new image; the selected node stays in view.
  await expect(page.getByTestId('node-other.qcow2')).toBeVisible({ timeout: 20_000 });
  await expect(node).toBeInViewport({ ratio: 0.99 });
  await node.click({ button: 'right' });
  await expect(page.getByTestId('node-menu')).toBeVisible();
  await page.keyboard.press('Escape');
  await shot(page, 'lost-engine-2-reconnected');


  // A reload after the restart works: the token the page keeps is still the server's.
  await page.reload();
  await page.getByTestId('domain-disk.qcow2').click();
  await expect(node).toBeVisible();
  await expect(page.getByTestId('engine-banner')).toHaveCount(0);

  // A link with a token that is not this server's: a page that says how to get a valid URL.
  const response = await page.goto(`${second.server.origin}/?token=${'0'.repeat(48)}`);
  expect(response?.status()).toBe(401);
  await expect(page.locator('h1')).toHaveText("This link's access token is not valid");
  await expect(page.locator('main')).toContainText('virt-snaptree serve');
  await expect(page.locator('main')).toContainText('--token-file');
  await shot(page, 'lost-engine-3-wrong-token');
});

test('on the demo, the first Take snapshot after serve came back runs on the new engine and is done', async ({ page, shot }) => {
  const port = await freePort();
  const args = ['--demo', '--port', String(port), '--token-file', join(dir, 'demo-token')];
  const env = { SNAPTREE_DATA_DIR: join(dir, 'demo-data') };
  const first = await startServe(args, env);
  child = first.child;
  await page.goto(first.server.url);
  await expect(page.getByTestId('node-main')).toBeVisible();
  // A plan made by this engine is open when it stops: the preview closes with the loss, it is never confirmed.
  await page.getByTestId('node-main').click();
  await page.keyboard.press('s');
  await page.getByRole('dialog', { name: /^Take snapshot/ }).getByRole('button', { name: 'Preview…' }).click();
  const dialog = page.getByTestId('plan-dialog');
  // A plan reads the whole connection: on a busy host it may take a while.
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled({ timeout: 30_000 });
  await stop(child);
  child = null;
  const banner = page.getByTestId('engine-banner');
  await expect(banner).toContainText('Lost the engine');
  await expect(dialog).toHaveCount(0);
  child = (await startServe(args, env)).child;
  await expect(banner).toHaveCount(0, { timeout: 20_000 });

  // Right after the banner went: the snapshot is planned and confirmed on the engine that answers now.
  await page.getByTestId('node-main').click();
  await page.keyboard.press('s');
  const take = page.getByRole('dialog', { name: /^Take snapshot/ });
  await take.getByRole('textbox', { name: 'Name' }).fill('after-restart');
  await take.getByRole('button', { name: 'Preview…' }).click();
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled({ timeout: 30_000 });
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('ops-outcome')).toContainText('done', { timeout: 30_000 });
  await expect(page.getByTestId('node-after-restart')).toBeVisible();
  await shot(page, 'lost-engine-4-snapshot-after-restart');
});
