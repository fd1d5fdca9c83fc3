/**
 * Deleting snapshots of a running VM from the app, on a chain built with plain virsh while it ran: the plan dialog
 * says the VM keeps running and shows the exact `virsh blockcommit`; after Confirm the progress bar follows QEMU's
 * job; Cancel aborts it, and since a commit cannot be undone the app offers to finish it, which recovery does while
 * the VM still runs. The second delete is the snapshot below the
 * layer the VM writes: an active commit, and the disk moves onto the saved state. Everything it makes is its own
 * (snaptree-ld-PID) and removed at the end.
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
const NAME = `snaptree-ld-${process.pid}`;
const virsh = (...args: string[]) => run('virsh', ['-q', '-c', URI, ...args]);
/** Writes through the running VM's own block layer (it has no OS to write). */
const guestWrite = (command: string) => virsh('qemu-monitor-command', NAME, '--hmp', `qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "${command}"`);

const domainXml = (disk: string): string => `<domain type='qemu'><name>${NAME}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;

test('a running VM: deleting its snapshots by block jobs, with the job’s progress, and the VM running on', async ({ page, shot }) => {
  const dir = await mkdtemp(join(tmpdir(), `snaptree-ld-${process.pid}-`));
  const base = join(dir, 'vm.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', base, '8G']);
  await writeFile(join(dir, 'vm.xml'), domainXml(base));
  await virsh('define', join(dir, 'vm.xml'));
  await virsh('start', NAME);
  for (const [snap, writes] of [['s1', ['0 1536M', '1536M 1536M']], ['s2', ['0 64k']]] as const) {
    await virsh('snapshot-create-as', NAME, snap, '--disk-only', '--atomic', '--diskspec', `vda,file=${join(dir, `${snap}.qcow2`)}`);
    for (const range of writes) await guestWrite(`write -P 0x2${snap.slice(1)} ${range}`);
    await guestWrite('flush');
  }
  const { child, server } = await startServe(['--connect', URI], { SNAPTREE_DATA_DIR: join(dir, 'data') });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(server.url);
    await page.getByTestId(`domain-${NAME}`).click();
    await expect(page.getByTestId('you-are-here')).toHaveText('You are here · running');

    // s1's layer lies under the one the VM writes: QEMU commits it into s1's saved state while the VM runs.
    await page.getByTestId('node-s1').click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: 'Delete snapshot…' });
    await expect(item).toBeEnabled();
    await item.click();
    const dialog = page.getByTestId('plan-dialog');
    const commands = dialog.getByTestId('plan-commands');
    await expect(dialog).toContainText('the VM is not stopped: QEMU changes the files it has open, by block jobs');
    await expect(dialog).toContainText('QEMU does it while the VM runs');
    await expect(commands).toContainText(`blockcommit --domain ${NAME} --path vda --top ${join(dir, 's1.qcow2')} --base ${base}`);
    await shot(page, 'live-delete-preview');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    const running = page.getByTestId('ops-running');
    await expect(running).toBeVisible();
    await expect(running).toContainText('QEMU does it while the VM runs');
    await shot(page, 'live-delete-progress');
    // Cancel aborts QEMU's job; a commit is past its point of no return, so the app offers to finish it.
    await running.getByRole('button', { name: 'Cancel' }).click();
    const outcome = page.getByTestId('ops-outcome');
    // In words; the error's code stays out of the text (on hover and in the element's data).
    await expect(outcome).toContainText('block job on vda was stopped', { timeout: 60_000 });
    await expect(outcome).not.toContainText('E_CANCELLED');
    await expect(outcome.locator('.error-words')).toHaveAttribute('data-code', 'E_CANCELLED');
    expect((await virsh('blockjob', NAME, 'vda', '--info', '--raw')).stdout.trim()).toBe('');
    await shot(page, 'live-delete-cancelled');
    await outcome.getByRole('button', { name: 'Finish or undo it' }).click();
    await expect(outcome).toContainText('Recovery: Finished the interrupted delete-snapshot', { timeout: 120_000 });
    await expect(page.getByTestId('node-s1')).toHaveCount(0);
    await expect(page.getByTestId('you-are-here')).toHaveText('You are here · running');
    expect((await virsh('domstate', NAME)).stdout.trim()).toBe('running');
    await shot(page, 'live-delete-done');

    // s2's layer is the one the VM writes: an active commit, then the disk runs on s2's saved state.
    await page.getByTestId('node-s2').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Delete snapshot…' }).click();
    await expect(commands).toContainText(`blockcommit --domain ${NAME} --path vda --top ${join(dir, 's2.qcow2')} --base ${base} --active`);
    await expect(dialog).toContainText(`vda then runs on vm.qcow2`);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(dialog).toBeHidden({ timeout: 60_000 });
    await expect(page.getByTestId('ops-outcome')).toContainText('done', { timeout: 60_000 });
    await expect(page.getByTestId('node-s2')).toHaveCount(0);
    const live = (await virsh('dumpxml', NAME)).stdout;
    expect(/<source file='([^']+)'/.exec(live)?.[1]).toBe(base);
    expect((await virsh('domstate', NAME)).stdout.trim()).toBe('running');
    await shot(page, 'live-delete-active-done');
    expect(errors).toEqual([]);
  } finally {
    await stop(child);
    await virsh('destroy', NAME).catch(() => undefined);
    await virsh('undefine', NAME, '--snapshots-metadata').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
