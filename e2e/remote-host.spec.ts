/**
 * A second hypervisor in the browser: `serve` with this computer's connection, and the test host's added over SSH
 * from the sidebar (scripts/test-host.sh). Both are listed with their libvirt and QEMU versions; the remote domain's
 * graph is read there, its health checked there, and the seed's operations run there (revert with a new branch,
 * switch back, delete a snapshot into the host's trash), while a file at the same path here stays as it was.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, startServe, stop, test } from './fixtures';

const HOST = 'snaptree-test-host';
const URI = `qemu+ssh://${HOST}/system`;
const tag = `e${process.pid}`;
const vm = `snaptree-${tag}-remote`;
const dir = `/var/lib/snaptree-${tag}`;

const onHost = (command: string): string => execFileSync('ssh', ['-o', 'BatchMode=yes', HOST, command], { encoding: 'utf8' });

test.beforeAll(() => {
  const xml = `<domain type='qemu'><name>${vm}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/disk.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  onHost(
    `mkdir -p ${dir} && qemu-img create -q -f qcow2 ${dir}/disk.qcow2 64M && cat > ${dir}/vm.xml <<'XML'\n${xml}\nXML\nvirsh -q define ${dir}/vm.xml >/dev/null && ` +
      `virsh -q snapshot-create-as ${vm} installed --disk-only --atomic >/dev/null && virsh -q snapshot-create-as ${vm} configured --disk-only --atomic >/dev/null`,
  );
});
test.afterAll(() => {
  onHost(`for s in $(virsh -q snapshot-list ${vm} --name); do virsh -q snapshot-delete ${vm} $s --metadata >/dev/null 2>&1; done; virsh -q undefine ${vm} >/dev/null 2>&1; rm -rf ${dir}`);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the action of a node's menu and confirms its plan. */
async function runFromMenu(page: Page, node: string, item: string | RegExp, shot: (page: Page, name: string) => Promise<void>, name: string): Promise<void> {
  await page.getByTestId(`node-${node}`).click({ button: 'right' });
  await page.getByRole('menuitem', { name: item }).first().click();
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled({ timeout: 30_000 });
  await shot(page, name);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText('done', { timeout: 60_000 });
}

test('the SSH host added in the sidebar beside this one; its graph read, checked and changed there, never here', async ({ page, shot }) => {
  // A file here at the path of the remote disk: it must stay as it is.
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'disk.qcow2'), 'not the remote disk\n');
  const data = mkdtempSync(join(tmpdir(), 'snaptree-e2e-remote-'));
  const { child, server } = await startServe(['--connect', 'qemu:///system'], { SNAPTREE_DATA_DIR: data });
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await expect(page.locator('.source-hypervisor')).toHaveCount(1, { timeout: 30_000 });
    // Added as an administrator adds it: typed into the sidebar.
    await page.getByRole('textbox', { name: 'Add a connection or an image folder' }).fill(URI);
    await shot(page, 'remote-host-add');
    await page.getByRole('button', { name: 'Connect' }).click();
    const versions = page.locator('.source-hypervisor');
    await expect(versions).toHaveCount(2, { timeout: 30_000 });
    await expect(versions.filter({ hasText: /^libvirt 11\.\d+\.\d+, QEMU 10\./ })).toHaveCount(1);
    await expect(versions.filter({ hasText: /^libvirt 9\.0\.\d+, QEMU 7\./ })).toHaveCount(1);

    await page.getByTestId(`domain-${vm}`).click();
    await expect(page.getByTestId('current-domain')).toHaveText(vm);
    await expect(page.getByTestId('node-installed')).toBeVisible();
    await expect(page.getByTestId('node-configured')).toBeVisible();
    await shot(page, 'remote-host-graph');

    // Health is checked by qemu-img on the host: its three files are healthy there.
    await page.getByRole('button', { name: /Check health/ }).click();
    await expect(page.getByTestId('health-summary')).toBeVisible({ timeout: 30_000 });
    await expect(page.getByTestId('health-summary')).toHaveAttribute('title', `Checked 3 files of ${vm}`);
    await expect(page.getByTestId('health-summary')).toHaveClass(/chip-ok/);
    await shot(page, 'remote-host-health');

    // The seed's operations, run on the host: qemu-img there, through ssh, as the preview says.
    await page.getByTestId('node-installed').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Revert with new branch…' }).click();
    const dialog = page.getByTestId('plan-dialog');
    await dialog.getByRole('textbox', { name: 'New branch name' }).fill('trial');
    await expect(dialog.getByTestId('plan-commands')).toContainText(`ssh ${HOST} 'qemu-img create -q -f qcow2 -b ${dir}/disk.qcow2 -F qcow2`, { timeout: 30_000 });
    await expect(dialog).toContainText(`runs on ${HOST} over SSH`);
    await shot(page, 'remote-host-revert-preview');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(page.getByTestId('node-trial')).toHaveAttribute('data-current', 'true', { timeout: 60_000 });
    expect(onHost(`virsh -q domblklist ${vm}`)).toContain(`${dir}/${vm}.trial.vda.qcow2`);
    await shot(page, 'remote-host-forked');
    await runFromMenu(page, 'main', 'Switch to this branch…', shot, 'remote-host-switch-preview');
    await expect(page.getByTestId('node-main')).toHaveAttribute('data-current', 'true');
    await runFromMenu(page, 'configured', /^Delete snapshot/, shot, 'remote-host-delete-preview');
    await expect(page.getByTestId('node-configured')).toHaveCount(0);
    await page.getByRole('tab', { name: 'Trash' }).click();
    await expect(page.getByTestId('trash-panel')).toContainText(/disk\.(installed|configured)/);
    await shot(page, 'remote-host-trash');

    // Changed there: the new branch's overlay and the trash; here, the file at the disk's path is as it was.
    const trashed = onHost(`ls -A ${dir}/.snaptree-trash/*`);
    expect(trashed).toMatch(/^disk\.(installed|configured)$/m);
    expect(readFileSync(join(dir, 'disk.qcow2'), 'utf8')).toBe('not the remote disk\n');
    expect(readdirSync(dir)).toEqual(['disk.qcow2']);
    expect(errors).toEqual([]);
  } finally {
    await stop(child);
    rmSync(data, { recursive: true, force: true });
  }
});
