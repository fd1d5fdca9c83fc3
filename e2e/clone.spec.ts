/**
 * Clone and export in the browser against real libvirt: the snapshot's menu offers Clone VM from here…, its dialog
 * (a free name, linked by default, the folder beside the source's images, here one of its own), the preview, and after Confirm the new
 * domain in the sidebar and "used by clone" on the snapshot; the clone's own header says where it comes from. Then
 * Export disks… writes one image into a folder of the test's. A full clone, started afterwards, runs on one standalone
 * image in the folder chosen that reads as the snapshot's saved state. The seed lab removes every domain of its
 * prefix, the clones too (stopped first), and its folder with the clones' files.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { expect, test } from './fixtures';
import { expectNoSeriousViolations } from './axe';
import { diskSource, img, MiB, seedLab, virsh } from './seed-lab';

const lab = seedLab('e2e-clone');

test('clone a VM from a snapshot, linked, from the node menu; then export a snapshot\u2019s disks', async ({ page, shot }) => {
  test.setTimeout(180_000);
  const domain = lab.buildSeed('heron');
  const clone = `${domain}-clone`;
  await page.goto(lab.url);
  await page.getByTestId(`domain-${domain}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);

  await page.getByTestId('node-snap1').click({ button: 'right' });
  const item = page.getByRole('menuitem', { name: /Clone VM from here/ });
  await expect(item).toHaveAttribute('aria-disabled', 'false');
  await shot(page, 'clone-1-menu');
  await item.click();

  const dialog = page.getByTestId('clone-dialog');
  const name = dialog.getByRole('textbox', { name: 'Name of the new VM' });
  await expect(name).toBeFocused();
  // Esc closes it; the toolbar's button for the selected node opens it again, and Tab stays inside.
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await page.getByTestId('action-bar').getByRole('button', { name: /Clone VM from here/ }).click();
  await expect(name).toBeFocused();
  for (let i = 0; i < 8; i++) await page.keyboard.press('Tab');
  expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  await expect(name).toHaveValue(clone);
  await expect(dialog.getByRole('radio', { name: /Linked/ })).toBeChecked();
  await expect(dialog.getByRole('textbox', { name: /Folder for its files/ })).toHaveValue(lab.dir);
  // A name that is taken, or has a slash, cannot go on.
  await name.fill(domain);
  await expect(dialog).toContainText('exists already');
  await expect(dialog.getByTestId('clone-continue')).toBeDisabled();
  await name.fill('a/b');
  await expect(dialog).toContainText('cannot contain "/"');
  await name.fill(clone);
  await expect(dialog.getByTestId('clone-continue')).toBeEnabled();
  // The clone's files go into a folder of their own: a relative path is refused, an absolute one taken.
  const cloneFolder = dialog.getByRole('textbox', { name: /Folder for its files/ });
  await cloneFolder.fill('clones');
  await expect(dialog).toContainText('The path must be absolute.');
  await expect(dialog.getByTestId('clone-continue')).toBeDisabled();
  const clones = join(lab.dir, 'clones');
  mkdirSync(clones);
  await cloneFolder.fill(clones);
  await expect(dialog).toContainText('(must exist)');
  await shot(page, 'clone-2-dialog');
  await expectNoSeriousViolations(page, 'clone-dialog');
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'dark';
  });
  await expectNoSeriousViolations(page, 'clone-dialog-dark');
  await shot(page, 'clone-2-dialog-dark');
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'light';
  });
  await dialog.getByTestId('clone-continue').click();

  const plan = page.getByTestId('plan-dialog');
  await expect(plan.getByTestId('plan-summary')).toContainText(clone, { timeout: 30_000 });
  await expect(plan.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  // In sight without opening the files: the new VM, linked, and the folder its files go into.
  const where = plan.getByTestId('plan-where');
  await expect(where).toContainText(`${clone}, linked`);
  await expect(where).toContainText(`${clones} (one file)`);
  await shot(page, 'clone-3-preview');
  await expectNoSeriousViolations(page, 'clone-preview');
  // Back, from the keyboard (Shift+Tab from Confirm, past Cancel), reopens the dialog with what was typed.
  await expect(plan.getByRole('button', { name: 'Confirm' })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await expect(plan.getByTestId('plan-back')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(plan).toBeHidden();
  await expect(name).toHaveValue(clone);
  await expect(cloneFolder).toHaveValue(clones);
  await expect(dialog.getByRole('radio', { name: /Linked/ })).toBeChecked();
  await dialog.getByTestId('clone-continue').click();
  await expect(plan.getByTestId('plan-where')).toContainText(clones, { timeout: 30_000 });
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'dark';
  });
  await shot(page, 'clone-3-preview-1024-dark');
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'light';
  });
  await page.setViewportSize({ width: 1440, height: 900 });
  await plan.getByRole('button', { name: 'Confirm' }).click();
  await expect(plan).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText(`Clone ${clone} made.`);
  await expect(page.getByTestId(`domain-${clone}`)).toBeVisible();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);
  // The sidebar marks the clone, its source on hover.
  await expect(page.getByTestId(`clone-mark-${clone}`)).toHaveText('clone');
  await expect(page.getByTestId(`clone-mark-${clone}`)).toHaveAttribute('title', `Clone of ${domain} at snapshot snap1`);
  await expect(page.getByTestId(`clone-mark-${domain}`)).toHaveCount(0);
  await shot(page, 'clone-4-sidebar');
  expect(readdirSync(clones)).toEqual([`${clone}.vda.qcow2`]);

  // "clone: …clone" in the node's width: the start the clone's name shares with the source's dropped, never only "…".
  const usedBy = page.getByTestId('node-snap1').getByTestId('used-by-clone');
  await expect(usedBy).toContainText('clone:');
  await expect(usedBy).toHaveAttribute('title', new RegExp(clone));
  expect(await usedBy.locator('.fit-name').textContent()).toMatch(/^…?[a-z-]*lone$/);
  const fits = await usedBy.evaluate((el) => ({ chip: el.getBoundingClientRect().right, node: (el.closest('.snap-node') ?? el).getBoundingClientRect().right, font: getComputedStyle(el).fontSize }));
  expect(fits.chip).toBeLessThanOrEqual(fits.node);
  expect(Number.parseFloat(fits.font)).toBeGreaterThanOrEqual(12);
  await page.getByTestId('node-snap1').click();
  await expect(page.getByTestId('details-panel')).toContainText(clone);
  await shot(page, 'clone-5-used-by');

  // In the file view, snap1's saved state links to the clone's overlay built on it.
  await page.getByRole('button', { name: 'Files' }).click();
  // Home goes to the root file, snap1's saved state, and brings it into view.
  await page.getByTestId('file-canvas').focus();
  await page.keyboard.press('Home');
  const state = page.getByTestId('file-canvas').getByTestId('file-heron.qcow2');
  await expect(state.getByTestId('cross-domain-link')).toContainText('clone');
  await expect(page.getByTestId('other-domains-section')).toContainText(clone);
  await shot(page, 'clone-5b-files');
  await page.getByRole('button', { name: 'Snapshots' }).click();

  // The clone says where it comes from.
  await page.getByTestId('open-made').click();
  await expect(page.getByTestId('current-domain')).toHaveText(clone);
  await expect(page.getByTestId('crumb-clone')).toHaveText(`clone of ${domain}`);
  await expect(page.getByTestId('clone-of')).toContainText(`Clone of ${domain} at snapshot snap1`);
  await shot(page, 'clone-6-clone-of');

  // Export snap2's disk into a folder of the test's.
  await page.getByTestId(`domain-${domain}`).click();
  const to = mkdtempSync(join(lab.dir, 'export-'));
  await page.getByTestId('node-snap2').click({ button: 'right' });
  await page.getByRole('menuitem', { name: /Export disks/ }).click();
  const exporting = page.getByTestId('export-dialog');
  const folder = exporting.getByRole('textbox', { name: /Folder/ });
  await expect(folder).toBeFocused();
  // The folder beside the domain's images to begin with; an empty one cannot go on.
  await expect(folder).toHaveValue(lab.dir);
  await folder.fill('');
  await expect(exporting.getByTestId('export-continue')).toBeDisabled();
  await folder.fill(to);
  await expect(exporting.getByRole('radio', { name: /qcow2/ })).toBeChecked();
  await exporting.getByRole('radio', { name: /raw/ }).check();
  await expect(exporting.getByTestId('export-compress')).toBeDisabled();
  await exporting.getByRole('radio', { name: /qcow2/ }).check();
  await shot(page, 'export-1-dialog');
  await expectNoSeriousViolations(page, 'export-dialog');
  await exporting.getByTestId('export-continue').click();
  await expect(plan.getByRole('button', { name: 'Confirm' })).toBeEnabled({ timeout: 30_000 });
  await expect(plan.getByTestId('plan-where')).toContainText(`${to} (one file)`);
  await expect(plan.getByTestId('plan-where')).toContainText('qcow2');
  // Back keeps the folder and the format; Cancel in the preview drops them.
  await plan.getByTestId('plan-back').click();
  await expect(folder).toHaveValue(to);
  await exporting.getByTestId('export-continue').click();
  await expect(plan.getByRole('button', { name: 'Confirm' })).toBeEnabled({ timeout: 30_000 });
  await shot(page, 'export-2-preview');
  await plan.getByRole('button', { name: 'Confirm' }).click();
  await expect(plan).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
  expect(readdirSync(to)).toHaveLength(1);

  // A second clone of snap1: its chip counts them, the hover names both.
  const second = `${domain}-b`;
  await page.getByTestId('node-snap1').click({ button: 'right' });
  await page.getByRole('menuitem', { name: /Clone VM from here/ }).click();
  await name.fill(second);
  await dialog.getByTestId('clone-continue').click();
  await expect(plan.getByRole('button', { name: 'Confirm' })).toBeEnabled({ timeout: 30_000 });
  await plan.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('ops-outcome')).toContainText(`Clone ${second} made.`, { timeout: 60_000 });
  await expect(usedBy).toContainText(/^(used by )?2 clones$/);
  await expect(usedBy).toHaveAttribute('title', new RegExp(`${clone}, ${second}|${second}, ${clone}`));
  await shot(page, 'clone-9-two-clones');
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'dark';
  });
  await shot(page, 'clone-9-two-clones-1024-dark');
});

/** The file snapshot `snap` of `domain` keeps its first disk's saved state in: the disk's source in the definition it kept. */
function savedState(domain: string, snap: string): string {
  const xml = virsh('snapshot-dumpxml', '--domain', domain, '--snapshotname', snap);
  return /<source file='([^']+)'/.exec(xml.slice(xml.indexOf('<domain ')))?.[1] ?? '';
}

/** The files of a domain's disks, from `virsh domblklist --details` (type, device, target, source a line). */
function diskFiles(domain: string): string[] {
  return virsh('domblklist', '--domain', domain, '--details')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[0] === 'file' && cols[1] === 'disk')
    .map((cols) => cols.slice(3).join(' '));
}

test('clone a VM from a snapshot as a full copy into a folder of its own, started afterwards', async ({ page, shot }) => {
  test.setTimeout(180_000);
  const domain = lab.buildSeed('ibis');
  const clone = `${domain}-full`;
  const folder = join(lab.dir, 'full-clones');
  mkdirSync(folder);
  await page.goto(lab.url);
  await page.getByTestId(`domain-${domain}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);

  // snap2's saved state is two files deep (snap1's overlay on the base): the full copy flattens both.
  await page.getByTestId('node-snap2').click({ button: 'right' });
  await page.getByRole('menuitem', { name: /Clone VM from here/ }).click();
  const dialog = page.getByTestId('clone-dialog');
  const name = dialog.getByRole('textbox', { name: 'Name of the new VM' });
  await expect(name).toBeFocused();
  await name.fill(clone);
  await dialog.getByRole('radio', { name: /Full/ }).check();
  await expect(dialog.getByRole('radio', { name: /Linked/ })).not.toBeChecked();
  await expect(dialog).toContainText('standalone images');
  await dialog.getByRole('textbox', { name: /Folder for its files/ }).fill(folder);
  await expect(dialog).toContainText('(must exist)');
  const start = dialog.getByRole('checkbox', { name: 'Start the new VM afterwards' });
  await expect(start).not.toBeChecked();
  await start.check();
  await expect(dialog.getByTestId('clone-continue')).toBeEnabled();
  await shot(page, 'clone-10-full-dialog');
  await dialog.getByTestId('clone-continue').click();

  // The preview: a full copy, standalone, its one file in the chosen folder, and a last step that starts it.
  const plan = page.getByTestId('plan-dialog');
  const summary = plan.getByTestId('plan-summary');
  await expect(summary).toContainText(`a full copy of snapshot snap2 of ${domain}`, { timeout: 30_000 });
  await expect(summary).toContainText(`its disk is a standalone image with no link to ${domain}, and ${clone} starts`);
  const where = plan.getByTestId('plan-where');
  await expect(where).toContainText(`${clone}, full: standalone copies of the disks`);
  await expect(where).toContainText(`${folder} (one file)`);
  const steps = plan.getByRole('list', { name: 'Steps' }).getByRole('listitem');
  await expect(steps.last()).toHaveText(`Start ${clone}.`);
  await expect(plan.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  await shot(page, 'clone-11-full-preview');
  await expectNoSeriousViolations(page, 'clone-full-preview');

  // The progress bar may show for a moment only: the page itself notes every line it shows, on <body>.
  await page.evaluate(() => {
    const seen: string[] = [];
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="ops-running"] .ops-status-text')?.textContent;
      if (text != null && !seen.includes(text)) seen.push(text);
      document.body.dataset.opsSeen = JSON.stringify(seen);
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await plan.getByRole('button', { name: 'Confirm' }).click();
  await expect(plan).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText(`Clone ${clone} made.`, { timeout: 60_000 });
  const seen = z.array(z.string()).parse(JSON.parse((await page.locator('body').getAttribute('data-ops-seen')) ?? '[]'));
  // The copy's sentence from the start, and the steps counted as they go (define, then start, after it).
  expect(seen.some((line) => line.includes(`Copy vda as the saved state of snapshot snap2 (ibis.snap1 and the files under it) into ${clone}.vda.qcow2`))).toBe(true);
  expect(seen.some((line) => /^Step \d of 3: /.test(line))).toBe(true);

  // In the sidebar, marked clone and running; opened, its header says where it comes from and that it runs.
  const item = page.getByTestId(`domain-${clone}`);
  await expect(item).toBeVisible();
  await expect(page.getByTestId(`clone-mark-${clone}`)).toHaveText('clone');
  await expect(page.getByTestId(`clone-mark-${clone}`)).toHaveAttribute('title', `Clone of ${domain} at snapshot snap2`);
  await expect(item.locator('.dot')).toHaveAttribute('title', 'running');
  await page.getByTestId('open-made').click();
  await expect(page.getByTestId('current-domain')).toHaveText(clone);
  await expect(page.locator('.crumb-state')).toHaveText('running');
  await expect(page.getByTestId('crumb-clone')).toHaveText(`clone of ${domain}`);
  await expect(page.getByTestId('clone-of')).toContainText(`Clone of ${domain} at snapshot snap2`);
  await shot(page, 'clone-12-full-running');

  // The real tools agree: it runs, on one standalone file in the chosen folder that reads as snap2's saved state.
  expect(virsh('domstate', '--domain', clone).trim()).toBe('running');
  const files = diskFiles(clone);
  expect(files).toEqual([join(folder, basename(files[0] ?? ''))]);
  const disk = files[0] ?? '';
  const chain = z.array(z.object({ filename: z.string(), format: z.string(), 'backing-filename': z.string().optional() })).parse(JSON.parse(img('info', '--backing-chain', '-U', '--output=json', disk)));
  expect(chain).toHaveLength(1);
  expect(chain[0]?.['backing-filename']).toBeUndefined();
  expect(chain[0]?.format).toBe('qcow2');
  const state = savedState(domain, 'snap2');
  expect(state).not.toBe('');
  expect(img('compare', '-U', disk, state)).toContain('Images are identical.');
  // The source's current disk holds snap3's writes besides: against it the copy differs (exit status 1).
  expect(() => img('compare', '-U', '-q', disk, diskSource(domain))).toThrow();
  expect(readdirSync(folder)).toEqual([basename(disk)]);
  virsh('destroy', '--domain', clone);
});


/**
 * A domain of two disks whose one snapshot holds `mib` MiB of random bytes on each, which a compressed export takes
 * seconds to write: each image made from a raw file of random bytes, then a disk-only snapshot. The lab removes it
 * (its prefix) and its files (its folder).
 */
function buildSlow(dir: string, name: string, mib: number): string {
  const domain = `snaptree-e2e-clone-${process.pid}-${name}`;
  const disks = ['vda', 'vdb'].map((target) => {
    const raw = join(dir, `${name}-${target}.raw`);
    const fd = openSync(raw, 'w');
    for (let i = 0; i < mib / 16; i++) writeSync(fd, randomBytes(16 * MiB));
    closeSync(fd);
    const base = join(dir, `${name}-${target}.qcow2`);
    img('convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, base);
    rmSync(raw);
    return `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${base}'/><target dev='${target}' bus='virtio'/></disk>`;
  });
  const xml = join(dir, `${name}.xml`);
  writeFileSync(xml, `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices>${disks.join('')}</devices></domain>`);
  virsh('define', '--file', xml);
  virsh('snapshot-create-as', '--domain', domain, '--name', 'full', '--disk-only', '--atomic');
  return domain;
}

test('a long export shows which disk it copies and its percent beside the step; cancelled, it says calmly that nothing was changed', async ({ page, shot }) => {
  test.setTimeout(180_000);
  const domain = buildSlow(lab.dir, 'egret', 512);
  const to = mkdtempSync(join(lab.dir, 'slow-export-'));
  await page.goto(lab.url);
  await page.getByTestId(`domain-${domain}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(domain);
  await page.getByTestId('node-full').click({ button: 'right' });
  await page.getByRole('menuitem', { name: /Export disks/ }).click();
  const exporting = page.getByTestId('export-dialog');
  await exporting.getByRole('textbox', { name: /Folder/ }).fill(to);
  await exporting.getByTestId('export-compress').check();
  await exporting.getByTestId('export-continue').click();
  const plan = page.getByTestId('plan-dialog');
  await expect(plan.getByTestId('plan-where')).toContainText('qcow2, compressed', { timeout: 30_000 });
  await plan.getByRole('button', { name: 'Confirm' }).click();

  const running = page.getByTestId('ops-running');
  await expect(running.getByTestId('ops-percent')).toHaveText(/^\d+%$/, { timeout: 30_000 });
  await expect(running).toContainText('Step 1 of 2:');
  await expect(running.getByTestId('ops-disk')).toHaveText('disk 1 of 2');
  await shot(page, 'clone-7-export-progress');
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'dark';
  });
  await shot(page, 'clone-7-export-progress-1024-dark');
  await running.getByRole('button', { name: 'Cancel' }).click();

  const outcome = page.getByTestId('ops-outcome');
  await expect(outcome).toContainText('Cancelled: nothing was changed.', { timeout: 60_000 });
  await expect(outcome).toHaveAttribute('role', 'status');
  await expect(outcome).toHaveClass(/is-neutral/);
  await shot(page, 'clone-8-export-cancelled-1024-dark');
  await page.evaluate(() => {
    document.documentElement.dataset.theme = 'light';
  });
  await page.setViewportSize({ width: 1440, height: 900 });
  await shot(page, 'clone-8-export-cancelled');
  expect(readdirSync(to)).toEqual([]);
});
