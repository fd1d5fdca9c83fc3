/**
 * Health in the browser: an image folder with a leaked and a corrupted image. The check puts badges on the
 * nodes that hold them, each explains itself and offers its fix as a plan; the fixes run and the badges go.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corruptRefcounts, leakCluster } from '../electron/test-support/damage';
import { expect, startServe, stop, test } from './fixtures';

const MiB = 1024 * 1024;
let dir: string;
let server: ChildProcess;
let url: string;

const img = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });
const write = (file: string, pattern: number, offset: number) => execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} ${offset} ${MiB}`, file]);

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'snaptree-e2e-health-'));
  const p = (name: string) => join(dir, name);
  img('create', '-q', '-f', 'qcow2', p('base.qcow2'), String(64 * MiB));
  write(p('base.qcow2'), 1, 0);
  img('create', '-q', '-f', 'qcow2', '-b', p('base.qcow2'), '-F', 'qcow2', p('mid.qcow2'));
  write(p('mid.qcow2'), 2, 8 * MiB);
  img('create', '-q', '-f', 'qcow2', '-b', p('mid.qcow2'), '-F', 'qcow2', p('top.qcow2'));
  img('create', '-q', '-f', 'qcow2', '-b', p('base.qcow2'), '-F', 'qcow2', p('side.qcow2'));
  write(p('side.qcow2'), 3, 16 * MiB);
  write(p('side.qcow2'), 3, 24 * MiB);
  leakCluster(p('mid.qcow2'));
  corruptRefcounts(p('side.qcow2'));
  ({ child: server, server: { url } } = await startServe(['--folder', dir], { SNAPTREE_DATA_DIR: join(dir, '.data') }));
});

test.afterAll(async () => {
  if (server) await stop(server);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('check health: badges with explanations, and each fix previewed and run', async ({ page, shot }) => {
  await page.goto(url);
  await expect(page.getByTestId('current-domain')).toHaveText('base.qcow2');
  await page.getByRole('button', { name: /Check health/ }).click();
  await expect(page.getByTestId('health-summary')).toHaveText('2 files need attention');
  // mid.qcow2 holds a saved state other images build on; side.qcow2 is a tip.
  await expect(page.getByTestId('node-mid.qcow2').getByTestId('health-badge')).toHaveAttribute('title', /1 leaked cluster/);
  await expect(page.getByTestId('node-side.qcow2').getByTestId('health-badge')).toHaveAttribute('title', /corrupted cluster record/);
  await expect(page.getByTestId('node-top.qcow2').getByTestId('health-badge')).toHaveCount(0);
  await page.getByTestId('node-side.qcow2').click();
  const health = page.getByTestId('details-panel').getByTestId('health-section');
  await expect(health).toContainText('corrupted cluster record');
  await shot(page, 'health-badges');

  // Corruption: the fix keeps a copy in the trash, then repairs.
  await health.getByRole('button', { name: 'Repair, keeping a copy…' }).click();
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByTestId('plan-commands')).toContainText(`qemu-img check -r all -f qcow2 -- ${join(dir, 'side.qcow2')}`);
  await expect(dialog.getByTestId('plan-commands')).toContainText('cp --sparse=always --reflink=auto');
  await shot(page, 'health-repair-plan');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
  await expect(page.getByTestId('node-side.qcow2').getByTestId('health-badge')).toHaveCount(0);
  expect(JSON.parse(img('check', '--output=json', join(dir, 'side.qcow2')))).toMatchObject({ 'check-errors': 0 });

  // Leaks, from the file view: the copy of side.qcow2 sits in the trash, drawn apart, built on base.qcow2.
  await page.getByTestId('view-files').click();
  const canvas = page.getByTestId('file-canvas');
  await expect(canvas.getByTestId('trash-side.qcow2')).toHaveAttribute('data-role', 'trash');
  await expect(canvas.getByTestId('file-mid.qcow2').getByTestId('health-badge')).toBeVisible();
  await canvas.getByTestId('file-mid.qcow2').click();
  await shot(page, 'health-file-view');
  await page.getByTestId('details-panel').getByRole('button', { name: 'Free leaked clusters…' }).click();
  await expect(dialog.getByTestId('plan-commands')).toHaveText(`qemu-img check -r leaks -f qcow2 -- ${join(dir, 'mid.qcow2')}`);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
  await expect(page.getByTestId('health-summary')).toHaveText('4 files healthy');
  await expect(canvas.getByTestId('file-mid.qcow2').getByTestId('health-badge')).toHaveCount(0);
  await shot(page, 'health-healed');
});
