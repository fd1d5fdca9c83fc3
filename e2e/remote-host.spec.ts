/**
 * A second hypervisor in the browser: `serve` with this computer's connection and the test host's over SSH
 * (scripts/test-host.sh). Both are in the sidebar with their libvirt and QEMU versions; the remote domain's graph
 * is read there (a file at the same path here stays as it was), and its health checked there; an operation on it is
 * refused with the reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, startServe, stop, test } from './fixtures';

const HOST = 'snaptree-test-host';
const URI = `qemu+ssh://${HOST}/system`;
const tag = `e${process.pid}`;
const vm = `snaptree-${tag}-remote`;
const dir = `/var/lib/snaptree-${tag}`;

const onHost = (command: string): string => execFileSync('ssh', ['-o', 'BatchMode=yes', HOST, command], { encoding: 'utf8' });

test.beforeAll(() => {
  const xml = `<domain type='qemu'><name>${vm}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/disk.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  onHost(`mkdir -p ${dir} && qemu-img create -q -f qcow2 ${dir}/disk.qcow2 64M && cat > ${dir}/vm.xml <<'XML'\n${xml}\nXML\nvirsh -q define ${dir}/vm.xml >/dev/null && virsh -q snapshot-create-as ${vm} installed --disk-only --atomic >/dev/null && virsh -q snapshot-create-as ${vm} configured --disk-only --atomic >/dev/null`);
});
test.afterAll(() => {
  onHost(`for s in configured installed; do virsh -q snapshot-delete ${vm} $s --metadata >/dev/null 2>&1; done; virsh -q undefine ${vm} >/dev/null 2>&1; rm -rf ${dir}`);
  rmSync(dir, { recursive: true, force: true });
});

test('both hosts in the sidebar; the remote graph read and checked there; an operation on it refused with the reason', async ({ page, shot }) => {
  // A file here at the path of the remote disk: it must stay as it is.
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'disk.qcow2'), 'not the remote disk\n');
  const data = mkdtempSync(join(tmpdir(), 'snaptree-e2e-remote-'));
  const { child, server } = await startServe(['--connect', 'qemu:///system', '--connect', URI], { SNAPTREE_DATA_DIR: data });
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
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
    await expect(page.getByTestId('health-summary')).toHaveAttribute('title', `Checked 3 file(s) of ${vm}`);
    await expect(page.getByTestId('health-summary')).toHaveClass(/chip-ok/);
    await shot(page, 'remote-host-health');

    await page.getByTestId('node-installed').click({ button: 'right' });
    await page.getByRole('menuitem', { name: /^Delete/ }).first().click();
    await expect(page.getByText(/not available yet/)).toBeVisible({ timeout: 15_000 });
    await shot(page, 'remote-host-operation-refused');

    expect(readFileSync(join(dir, 'disk.qcow2'), 'utf8')).toBe('not the remote disk\n');
    expect(onHost(`ls ${dir}`).split('\n').filter(Boolean).sort()).toEqual(['disk.configured', 'disk.installed', 'disk.qcow2', 'vm.xml']);
    expect(errors).toEqual([]);
  } finally {
    await stop(child);
    rmSync(data, { recursive: true, force: true });
  }
});
