/**
 * A snapshot of a running VM from the app: the plan dialog offers to include its memory, says the VM carries on,
 * names the memory file and the exact command; quiescing is offered but off, with the reason (no guest agent).
 * After Confirm the snapshot is on the graph and the VM still runs. Then a revert with a new branch: the dialog
 * offers a clean shutdown, power off or keeping the memory, and the VM resumes from the snapshot's memory on the
 * new branch. Then a switch that keeps the running VM with the branch left, and back to it: resumed. Everything it makes is its own
 * (snaptree-ls-PID) and removed at the end.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from './fixtures';
import { startServe, stop } from './serve-process';

const run = promisify(execFile);
const URI = 'qemu:///system';
const NAME = `snaptree-ls-${process.pid}`;
const virsh = (...args: string[]) => run('virsh', ['-q', '-c', URI, ...args]);

/** A domain with one empty qcow2 disk and no OS, run by TCG. */
const domainXml = (disk: string): string => `<domain type='qemu'><name>${NAME}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;

test('a running VM: a snapshot with its memory; a revert, powered off and started; a switch keeping its memory, and back, resumed', async ({ page, shot }) => {
  const dir = await mkdtemp(join(tmpdir(), `snaptree-ls-${process.pid}-`));
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'vm.qcow2'), '16M']);
  await writeFile(join(dir, 'vm.xml'), domainXml(join(dir, 'vm.qcow2')));
  await virsh('define', join(dir, 'vm.xml'));
  await virsh('start', NAME);
  const { child, server } = await startServe(['--connect', URI], { SNAPTREE_DATA_DIR: join(dir, 'data') });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(server.url);
    await page.getByTestId(`domain-${NAME}`).click();
    await expect(page.getByTestId('current-domain')).toHaveText(NAME);
    await expect(page.locator('.topbar .chip.state-running')).toBeVisible();
    await expect(page.getByTestId('you-are-here')).toHaveText('You are here · running');

    await page.locator('.react-flow__node').first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Take snapshot…' }).click();
    // The node menu opens the Take snapshot dialog: name, description and the running VM's choices.
    const take = page.getByTestId('take-snapshot-dialog');
    await take.getByRole('textbox', { name: 'Name' }).fill('with-ram');
    const memory = take.getByRole('checkbox', { name: /Include memory/ });
    const quiesce = take.getByRole('checkbox', { name: /Freeze file systems/ });
    await expect(quiesce).toBeDisabled();
    await expect(take).toContainText('no guest agent channel');
    await memory.check();
    await take.getByRole('button', { name: 'Preview…' }).click();
    const dialog = page.getByTestId('plan-dialog');
    const memoryFile = join(dir, `${NAME}.with-ram.mem`);
    await expect(dialog.getByTestId('plan-commands')).toContainText(`--memspec file=${memoryFile},snapshot=external`);
    await expect(dialog).toContainText(`The VM's memory is saved to ${memoryFile}`);
    await shot(page, 'live-snapshot-memory-preview');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(dialog).toBeHidden({ timeout: 60_000 });
    await expect(page.getByTestId('ops-outcome')).toContainText('done');
    await expect(page.getByTestId('node-with-ram')).toBeVisible();
    expect((await virsh('domstate', NAME)).stdout.trim()).toBe('running');
    await expect(page.locator('.topbar .chip.state-running')).toBeVisible();
    await page.getByTestId('node-with-ram').click();
    await expect(page.getByTestId('details-panel')).toContainText(memoryFile);
    await shot(page, 'live-snapshot-memory-done');

    // Revert the running VM with a new branch: powered off at once, then resumed from the snapshot's memory.
    await page.getByTestId('node-with-ram').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Revert with new branch…' }).click();
    await dialog.getByRole('textbox', { name: 'New branch name' }).fill('fresh');
    await expect(dialog).toContainText('Ask');
    await expect(dialog).toContainText('the VM is stopped first');
    await dialog.getByRole('checkbox', { name: /Power the VM off at once/ }).check();
    const commands = dialog.getByTestId('plan-commands');
    await expect(commands).toContainText(`destroy --domain ${NAME}`);
    await expect(commands).toContainText(`restore --file ${memoryFile}`);
    await expect(dialog).toContainText("with-ram saved the VM's memory too: the VM resumes from it");
    await shot(page, 'live-revert-preview');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(dialog).toBeHidden({ timeout: 60_000 });
    await expect(page.getByTestId('ops-outcome')).toContainText('done');
    await expect(page.getByTestId('node-fresh')).toBeVisible();
    await expect(page.locator('.topbar .chip.state-running')).toBeVisible();
    expect((await virsh('domstate', NAME, '--reason')).stdout.trim()).toBe('running (restored)');
    await shot(page, 'live-revert-done');

    // Back to main, keeping the running VM with "fresh": its memory saved; switching to fresh again resumes it.
    // The view stays where it was when nodes come (F fits it to the graph again).
    await page.getByTestId('graph-canvas').focus();
    await page.keyboard.press('f');
    await page.getByTestId('node-main').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Switch to this branch…' }).click();
    await dialog.getByRole('checkbox', { name: /Keep the running VM/ }).check();
    await expect(commands).toContainText(`save --domain ${NAME} --file ${join(dir, `${NAME}.fresh.mem`)}`);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(dialog).toBeHidden({ timeout: 60_000 });
    await expect(page.getByTestId('node-fresh').getByTestId('saved-memory')).toBeVisible();
    await expect(page.locator('.topbar .chip.state-shut-off')).toBeVisible();
    await page.getByTestId('node-fresh').click();
    await expect(page.getByTestId('branch-memory')).toContainText(`${NAME}.fresh.mem`);
    await shot(page, 'live-branch-saved-memory');
    await page.getByTestId('node-fresh').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Switch to this branch…' }).click();
    await expect(commands).toContainText(`restore --file ${join(dir, `${NAME}.fresh.mem`)}`);
    await expect(dialog).toContainText('Resume');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(dialog).toBeHidden({ timeout: 60_000 });
    await expect(page.locator('.topbar .chip.state-running')).toBeVisible();
    expect((await virsh('domstate', NAME, '--reason')).stdout.trim()).toBe('running (restored)');
    await expect(page.getByTestId('saved-memory')).toHaveCount(0);
    expect(errors).toEqual([]);
  } finally {
    await stop(child);
    await virsh('destroy', NAME).catch(() => undefined);
    await virsh('undefine', NAME, '--snapshots-metadata').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
