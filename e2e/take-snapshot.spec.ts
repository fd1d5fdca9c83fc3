/**
 * Take snapshot from the toolbar, whatever node is selected: a dialog with a name, a description and the running
 * VM's choices, then the usual preview and confirm; the description shown in details and edited there (planned
 * and previewed too); a domain without snapshots says what to do; the toolbar stays one row at 1024 and 800 wide,
 * what does not fit going into a More menu that works by keyboard.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expectNoSeriousViolations } from './axe';
import { expect, startServe, stop, test } from './fixtures';

const URI = 'qemu:///system';
const PREFIX = `snaptree-e2e-take-${process.pid}-`;
let dir: string;
let server: ChildProcess;
let url: string;

const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8' });

/** A shut-off domain with one empty qcow2 disk and no snapshot; with `display`, a VGA screen shown over VNC on 127.0.0.1. */
function emptyDomain(name: string, display = false): string {
  const domain = PREFIX + name;
  const disk = join(dir, `${name}.qcow2`);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, String(16 * 1024 * 1024)]);
  const xml = join(dir, `${name}.xml`);
  writeFileSync(
    xml,
    `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>${
      display ? "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/><video><model type='vga'/></video>" : ''
    }</devices></domain>`,
  );
  virsh('define', '--file', xml);
  return domain;
}

async function openDomain(page: Page, domain: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId(`domain-${domain}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);
}

/** Confirms the open plan dialog and waits for the operation to be done. */
async function confirmPlan(page: Page): Promise<void> {
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
}

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'snaptree-e2e-take-'));
  ({ child: server, server: { url } } = await startServe(['--connect', URI], { SNAPTREE_DATA_DIR: join(dir, 'data') }));
});

test.afterAll(async () => {
  if (server) await stop(server);
  for (const domain of virsh('list', '--all', '--name').split('\n').filter((n) => n.startsWith(PREFIX))) {
    if (virsh('domstate', '--domain', domain).trim() !== 'shut off') virsh('destroy', '--domain', domain);
    virsh('undefine', '--domain', domain, '--snapshots-metadata');
  }
  rmSync(dir, { recursive: true, force: true });
});

test('an empty domain says what to do; Take snapshot from the toolbar with a description; the description edited from details', async ({ page, shot }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const domain = emptyDomain('fresh');
  await openDomain(page, domain);
  const hint = page.getByTestId('empty-hint');
  await expect(hint).toContainText('No snapshots yet. Take snapshot saves this disk state so you can come back to it.');
  await expect(page.getByTestId('take-snapshot')).toHaveClass(/button-primary/);
  await shot(page, 'empty-domain');
  await expectNoSeriousViolations(page, 'empty-domain');

  // The toolbar's button, nothing selected: the dialog takes the keyboard on the name, a free name filled in.
  await page.getByTestId('take-snapshot').click();
  const take = page.getByTestId('take-snapshot-dialog');
  const name = take.getByRole('textbox', { name: 'Name' });
  await expect(name).toBeFocused();
  await expect(name).toHaveValue('snap1');
  // Esc cancels, and the keyboard goes back to the button.
  await page.keyboard.press('Escape');
  await expect(take).toBeHidden();
  await expect(page.getByTestId('take-snapshot')).toBeFocused();

  await hint.getByRole('button', { name: 'Take snapshot' }).click();
  await expect(name).toBeFocused();
  await name.fill('before-upgrade');
  const text = 'Before PHP 8.3: "clean" <install> & a line\nsecond line';
  await take.getByRole('textbox', { name: /Description/ }).fill(text);
  // Tab stays inside the dialog.
  for (let i = 0; i < 6; i++) await page.keyboard.press('Tab');
  expect(await take.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  await shot(page, 'take-snapshot-dialog');
  await expectNoSeriousViolations(page, 'take-snapshot-dialog');
  // The dark theme too.
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'dark';
  });
  await expectNoSeriousViolations(page, 'take-snapshot-dialog-dark');
  await shot(page, 'take-snapshot-dialog-dark');
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'light';
  });
  await name.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByTestId('plan-commands')).toContainText('--description');
  await confirmPlan(page);
  await expect(page.getByTestId('node-before-upgrade')).toBeVisible();
  await expect(hint).toHaveCount(0);
  expect(virsh('snapshot-dumpxml', '--domain', domain, '--snapshotname', 'before-upgrade')).toContain('&quot;clean&quot; &lt;install&gt; &amp; a line\nsecond line');

  // Details show the description; Edit changes it through a one-step plan.
  await page.getByTestId('node-before-upgrade').click();
  const details = page.getByTestId('details-panel');
  await expect(details.getByTestId('snapshot-description-view')).toContainText('Before PHP 8.3: "clean" <install> & a line');
  await details.getByTestId('edit-description').click();
  const box = details.getByTestId('description-input');
  await expect(box).toBeFocused();
  const edited = 'PHP 8.3 installed & tested\n-- ready for "prod"';
  await box.fill(edited);
  await shot(page, 'description-edit');
  await expectNoSeriousViolations(page, 'description-edit');
  await details.getByTestId('save-description').click();
  await expect(dialog).toContainText('Set the description of snapshot before-upgrade');
  await expect(dialog.getByTestId('plan-commands')).toContainText('--redefine');
  await expect(dialog.getByTestId('plan-commands')).not.toContainText('prod');
  await confirmPlan(page);
  // After an operation the selection lands on You are here: back to the snapshot.
  await page.getByTestId('node-before-upgrade').click();
  await expect(details.getByTestId('snapshot-description-view')).toContainText('-- ready for "prod"');
  expect(virsh('snapshot-dumpxml', '--domain', domain, '--snapshotname', 'before-upgrade')).toContain('PHP 8.3 installed &amp; tested\n-- ready for &quot;prod&quot;');
});

test('a snapshot of a running domain with a display shows the screen it had in its details', async ({ page, shot }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const domain = emptyDomain('screen', true);
  virsh('start', '--domain', domain);
  // SeaBIOS draws its screen within a moment of the start.
  await page.waitForTimeout(1500);
  await openDomain(page, domain);
  await page.getByTestId('take-snapshot').click();
  const take = page.getByTestId('take-snapshot-dialog');
  await expect(take.getByRole('checkbox', { name: /Include memory/ })).toBeVisible();
  await take.getByRole('button', { name: 'Preview…' }).click();
  await expect(page.getByTestId('plan-dialog')).toContainText('The VM keeps running.');
  await confirmPlan(page);
  await page.getByTestId('node-snap1').click();
  const image = page.getByTestId('snapshot-thumbnail').locator('img');
  await expect(image).toHaveAttribute('src', /^data:image\/png;base64,/);
  expect(await image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  // The node shows it small too.
  await expect(page.getByTestId('node-snap1').getByTestId('node-thumbnail')).toBeVisible();
  await shot(page, 'snapshot-thumbnail');
});

for (const width of [1024, 800]) {
  test(`the toolbar at ${width}×700 is one row, what does not fit in a More menu that works by keyboard`, async ({ page, shot }) => {
    // The domain is opened from the sidebar in a wide window; a narrow one folds the sidebar once a domain is open.
    await page.setViewportSize({ width: 1440, height: 900 });
    const domain = emptyDomain(`narrow${width}`);
    virsh('snapshot-create-as', '--domain', domain, '--name', 'snap1', '--disk-only', '--atomic');
    await openDomain(page, domain);
    await page.getByTestId('node-snap1').click();
    await page.setViewportSize({ width, height: 700 });
    const bar = page.getByTestId('action-bar');
    await expect(page.getByTestId('toolbar-more')).toBeVisible();
    const box = await bar.boundingBox();
    expect(box?.height ?? 0).toBeLessThan(50);
    // Nothing sticks out of the row; Take snapshot and the view switch stay.
    expect(await bar.evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true);
    await expect(page.getByTestId('take-snapshot')).toBeVisible();
    await expect(page.getByTestId('view-files')).toBeVisible();

    const more = page.getByTestId('toolbar-more');
    await more.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByTestId('toolbar-menu');
    await expect(menu).toBeVisible();
    await expect(menu.getByRole('menuitem').first()).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(menu.getByRole('menuitem').nth(1)).toBeFocused();
    await shot(page, `toolbar-${width}`);
    await expectNoSeriousViolations(page, `toolbar-${width}`, '[data-testid="action-bar"]');
    await page.keyboard.press('Escape');
    await expect(menu).toBeHidden();
    await expect(more).toBeFocused();
    // An item chosen from the menu does what its button does: Delete snapshot opens its preview.
    await page.keyboard.press(' ');
    await menu.getByRole('menuitem', { name: 'Delete snapshot' }).click();
    await expect(page.getByTestId('plan-dialog')).toBeVisible();
    await page.keyboard.press('Escape');
  });
}
