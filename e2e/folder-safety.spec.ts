/**
 * What a folder can plant, as a user sees it: an image that is a link to a disk elsewhere is shown with a
 * warning and offers nothing that would move or write it; a FIFO among the images is skipped and said so,
 * and the page keeps working.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, startServe, stop, test } from './fixtures';

let dir: string;
let server: ChildProcess;
let url: string;
const MiB = 1024 * 1024;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'snaptree-e2e-folder-safety-'));
  const folder = join(dir, 'images');
  const elsewhere = join(dir, 'libvirt-images');
  mkdirSync(folder);
  mkdirSync(elsewhere);
  const img = (...args: string[]) => execFileSync('qemu-img', args);
  img('create', '-q', '-f', 'qcow2', join(elsewhere, 'production.qcow2'), String(16 * MiB));
  img('create', '-q', '-f', 'qcow2', join(folder, 'base.qcow2'), String(16 * MiB));
  img('create', '-q', '-f', 'qcow2', '-b', join(folder, 'base.qcow2'), '-F', 'qcow2', join(folder, 'work.qcow2'));
  symlinkSync(join(elsewhere, 'production.qcow2'), join(folder, 'vm.qcow2'));
  execFileSync('mkfifo', [join(folder, 'pipe.qcow2')]);
  ({ child: server, server: { url } } = await startServe(['--folder', folder], { SNAPTREE_DATA_DIR: join(dir, '.data') }));
});

test.afterAll(async () => {
  if (server) await stop(server);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a linked disk from elsewhere is shown with a warning and offers no delete; a FIFO is skipped and said so', async ({ page, shot }) => {
  const before = readFileSync(join(dir, 'libvirt-images', 'production.qcow2'));
  await page.goto(url);
  const problems = page.locator('[data-testid^="source-problems-"]');
  await expect(problems).toContainText('pipe.qcow2 is not a regular file');
  await page.getByTestId('domain-production.qcow2').click();
  await expect(page.getByTestId('details-panel')).toContainText('lies outside the folder');
  await page.getByTestId('node-production.qcow2').click({ button: 'right' });
  const remove = page.getByRole('menuitem', { name: /Delete image/ });
  await expect(remove).toBeDisabled();
  await expect(remove).toContainText('never moves, writes or deletes files outside the folder');
  await shot(page, 'folder-safety');
  // The rest of the folder still works.
  await page.keyboard.press('Escape');
  await page.getByTestId('domain-base.qcow2').click();
  await expect(page.getByTestId('node-work.qcow2')).toBeVisible();
  expect(readFileSync(join(dir, 'libvirt-images', 'production.qcow2')).equals(before)).toBe(true);
});
