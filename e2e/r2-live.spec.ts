/**
 * The live picture follows an admin working beside the app with plain virsh and qemu-img: a domain defined,
 * started and stopped, a snapshot taken, a domain undefined, and an overlay made and renamed in an image folder
 * each show within seconds, with the selection and the view kept, and with one scan per change, not a storm.
 * Everything it makes is its own (snaptree-r2-PID-…) and removed at the end.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test, expect, type Page } from '@playwright/test';
import { startServe, stop } from './serve-process';

const run = promisify(execFile);
const URI = 'qemu:///system';
const NAME = `snaptree-r2-${process.pid}-a`;
const virsh = (...args: string[]) => run('virsh', ['-q', '-c', URI, ...args]);
const qemuImg = (...args: string[]) => run('qemu-img', args);
/** Within ~2 s on a quiet host (the times are logged); a daemon shared with busy tests can take several times that. */
const SLOW_HOST_MS = 15_000;

/** A domain with one empty qcow2 disk and no OS, run by TCG: enough to start and stop. */
const domainXml = (disk: string): string => `<domain type='qemu'><name>${NAME}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;

/** Counts the page's scans of our own domain or folder (other tests' domains on the daemon change too). */
function countCalls(page: Page, ours: (body: string) => boolean): { scans: () => number; reset: () => void } {
  let scans = 0;
  page.on('request', (r) => {
    if (/\/api\/scan/.test(new URL(r.url()).pathname) && ours(r.postData() ?? '')) scans += 1;
  });
  return { scans: () => scans, reset: () => (scans = 0) };
}

test('changes made with virsh and qemu-img beside the app show within seconds, one scan each', async ({ page }) => {
  const dir = await mkdtemp(join(tmpdir(), `snaptree-r2-${process.pid}-`));
  const images = join(dir, 'images');
  await run('mkdir', ['-p', images]);
  await qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'vm.qcow2'), '16M');
  await qemuImg('create', '-q', '-f', 'qcow2', join(images, 'base.qcow2'), '16M');
  await run('sh', ['-c', `printf '%s' "$1" > "$2"`, 'sh', domainXml(join(dir, 'vm.qcow2')), join(dir, 'vm.xml')]);
  const { child, server } = await startServe(['-c', URI, '-f', images], { SNAPTREE_DATA_DIR: join(dir, 'data') });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const calls = countCalls(page, (body) => body.includes(NAME) || body.includes(images));
  try {
    await page.goto(server.url);
    await expect(page.getByTestId('live-status')).toHaveText(/^Live/);
    await expect(page.getByTestId('live-status')).not.toContainText('paused');

    // Defined outside the app: it appears in the list.
    calls.reset();
    let started = Date.now();
    await virsh('define', join(dir, 'vm.xml'));
    const item = page.getByTestId(`domain-${NAME}`);
    await expect(item).toBeVisible({ timeout: SLOW_HOST_MS });
    console.log(`define → listed: ${Date.now() - started} ms, scans ${calls.scans()}`);
    await item.click();
    await expect(page.getByTestId('current-domain')).toHaveText(NAME);
    await expect(page.locator('.topbar .chip.state-shut-off')).toBeVisible();

    // Started and destroyed outside the app: the state follows.
    calls.reset();
    started = Date.now();
    await virsh('start', NAME);
    await expect(page.locator('.topbar .chip.state-running')).toBeVisible({ timeout: SLOW_HOST_MS });
    console.log(`start → running: ${Date.now() - started} ms, scans ${calls.scans()}`);
    await page.screenshot({ path: 'e2e/artifacts/r2-live-running.png' });
    calls.reset();
    started = Date.now();
    await virsh('destroy', NAME);
    await expect(page.locator('.topbar .chip.state-shut-off')).toBeVisible({ timeout: SLOW_HOST_MS });
    console.log(`destroy → shut off: ${Date.now() - started} ms, scans ${calls.scans()}`);

    // A snapshot taken outside the app: its node appears, the selection and the view stay.
    await page.getByTestId('node-b:current').or(page.locator('.react-flow__node').first()).first().click();
    const title = page.getByTestId('details-panel').getByTestId('details-title');
    const selectedBefore = await title.textContent();
    // Let the view settle: the action bar of a selected node changes the canvas's height.
    await page.waitForTimeout(800);
    const viewport = page.locator('.react-flow__viewport');
    const transform = await viewport.getAttribute('style');
    calls.reset();
    started = Date.now();
    await virsh('snapshot-create-as', '--domain', NAME, '--name', 'r2-one', '--disk-only', '--atomic');
    await expect(page.getByTestId('node-r2-one')).toBeVisible({ timeout: SLOW_HOST_MS });
    console.log(`snapshot → node: ${Date.now() - started} ms, scans ${calls.scans()}, selected ${selectedBefore}`);
    await page.waitForTimeout(2500);
    console.log(`scans 2.5 s later: ${calls.scans()}`);
    // One change, one scan (a second at most, when libvirt's event and the poll both see it): no storm.
    expect(calls.scans()).toBeLessThanOrEqual(2);
    expect(await viewport.getAttribute('style')).toBe(transform);
    await expect(title).toHaveText(selectedBefore ?? '');
    await page.screenshot({ path: 'e2e/artifacts/r2-live-snapshot.png' });

    // An overlay made in the image folder, then renamed.
    await page.getByTestId('domain-base.qcow2').click();
    calls.reset();
    started = Date.now();
    await qemuImg('create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', join(images, 'base.qcow2'), join(images, 'top.qcow2'));
    await expect(page.getByTestId('node-top.qcow2')).toBeVisible({ timeout: SLOW_HOST_MS });
    console.log(`overlay → node: ${Date.now() - started} ms, scans ${calls.scans()}`);
    calls.reset();
    started = Date.now();
    await rename(join(images, 'top.qcow2'), join(images, 'renamed.qcow2'));
    await expect(page.getByTestId('node-renamed.qcow2')).toBeVisible({ timeout: SLOW_HOST_MS });
    await expect(page.getByTestId('node-top.qcow2')).toHaveCount(0);
    console.log(`rename → node: ${Date.now() - started} ms, scans ${calls.scans()}`);
    await page.screenshot({ path: 'e2e/artifacts/r2-live-folder.png' });

    // Undefined outside the app: it leaves the list.
    await page.getByTestId(`domain-${NAME}`).click();
    calls.reset();
    started = Date.now();
    await virsh('undefine', NAME, '--snapshots-metadata');
    await expect(page.getByTestId(`domain-${NAME}`)).toHaveCount(0, { timeout: SLOW_HOST_MS });
    console.log(`undefine → gone: ${Date.now() - started} ms, scans ${calls.scans()}; note: ${await page.getByTestId('live-note').textContent().catch(() => '')}`);
    expect(errors).toEqual([]);
  } finally {
    await virsh('destroy', NAME).catch(() => undefined);
    await virsh('undefine', NAME, '--snapshots-metadata').catch(() => undefined);
    await stop(child);
    await rm(dir, { recursive: true, force: true });
  }
});
