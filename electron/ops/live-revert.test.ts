/**
 * Real libvirt and QEMU (TCG, no guest OS): reverting and switching a running domain, stopped first as the user
 * chose (power off, or a clean shutdown with a timeout) and started again when asked. A guest without an OS
 * ignores the ACPI request, so a clean shutdown times out, and nothing changes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { copyFile, rename, stat } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { stepLine } from '../../shared/ops/step-command';
import type { Engine } from '../engine';
import { withEngineLab } from '../test-support/engine-lab';
import { applyChecked, checksums, diskSource } from '../test-support/checks';
import { TEST_URI, virshSync, type TestLab } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;

withEngineLab((made, opened) => {
  lab = made;
  engine = opened;
});

const state = (vm: string): string => virshSync(['domstate', '--domain', vm]).trim();

/** base → s1 with data in both layers, a recorded branch "alt" at s1, and the domain running on main. */
async function seed(name: string): Promise<string> {
  const base = lab.path(`${name}.qcow2`);
  await qemuImgCreate(base, { size: 32 * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, MiB);
  const vm = await lab.define({ name, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: 's1' });
  await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x20, MiB, MiB);
  await applyChecked(engine, source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'alt' });
  await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'main' });
  virshSync(['start', '--domain', vm]);
  return vm;
}

async function refusal(intent: Intent): Promise<string> {
  const planned = await engine.plan(source, intent);
  return planned.ok ? 'planned' : `${planned.refusal.code}: ${planned.refusal.message}`;
}

describe('S7: reverting and switching a running domain', () => {
  test('refused without saying how to stop it, and the refusal says how', async () => {
    const vm = await seed('unsaid');
    expect(await refusal({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'new' })).toMatch(/^E_DOMAIN_RUNNING: .*say how the operation is to stop it/);
    expect(await refusal({ op: 'switch', domain: vm, branch: 'alt' })).toMatch(/^E_DOMAIN_RUNNING/);
    expect(state(vm)).toBe('running');
  });

  test('revert with a new branch, powered off first and started after: the plan says so, the VM runs on the new branch', async () => {
    const vm = await seed('force');
    const intent: Intent = { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'new', stop: 'force', start: 'running' };
    const planned = await engine.plan(source, intent);
    if (!planned.ok) throw new Error(planned.refusal.message);
    const steps = planned.plan.steps;
    expect(steps[0]?.kind).toBe('stop-domain');
    expect(steps[0]?.sentence).toMatch(/Power .* off at once/);
    expect(steps[0] === undefined ? null : stepLine(steps[0], source)).toEqual(['virsh', '-c', TEST_URI, 'destroy', '--domain', vm]);
    expect(steps.at(-1) === undefined ? null : stepLine(steps.at(-1) as (typeof steps)[number], source)).toEqual(['virsh', '-c', TEST_URI, 'start', '--domain', vm]);
    const left = diskSource(vm, 'vda');
    const after = await applyChecked(engine, source, intent);
    expect(state(vm)).toBe('running');
    expect(after.branches.find((b) => b.current)?.name).toBe('new');
    expect(after.branches.find((b) => b.name === 'main')?.tips[0]?.file).toBe(left);
    virshSync(['destroy', '--domain', vm]);
  });

  test('switch and a discarding revert, powered off and left shut off or paused as asked', async () => {
    const vm = await seed('switch');
    await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'alt', stop: 'force' });
    expect(state(vm)).toBe('shut off');
    virshSync(['start', '--domain', vm]);
    await applyChecked(engine, source, { op: 'revert-discard', domain: vm, snapshot: 's1', stop: 'force', start: 'paused' });
    expect(state(vm)).toBe('paused');
    virshSync(['destroy', '--domain', vm]);
  });

  test('a clean shutdown the guest ignores times out: nothing changes and the VM still runs', async () => {
    const vm = await seed('ignored');
    const scanned = await engine.scanDomain(source, vm);
    const files = Object.keys(scanned.layers);
    const before = await checksums(files);
    const definition = virshSync(['dumpxml', '--domain', vm, '--inactive']);
    const planned = await engine.plan(source, { op: 'switch', domain: vm, branch: 'alt', stop: 'shutdown', timeout: 2 });
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.steps[0]?.sentence).toMatch(/wait up to 2 s/);
    const t0 = Date.now();
    const error = await engine.apply(planned.plan).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(error).toMatchObject({ code: 'E_TOOL', message: expect.stringMatching(/did not shut down within 2 s.*Nothing was changed/s) });
    expect(state(vm)).toBe('running');
    expect(await checksums(files)).toEqual(before);
    expect(virshSync(['dumpxml', '--domain', vm, '--inactive'])).toBe(definition);
    virshSync(['destroy', '--domain', vm]);
  });

  test('stopped with save, the state left keeps its memory; switching back resumes the VM from it, and the file goes', async () => {
    const vm = await seed('save');
    const memory = lab.path(`${vm}.main.mem`);
    const planned = await engine.plan(source, { op: 'switch', domain: vm, branch: 'alt', stop: 'save' });
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.steps[0] === undefined ? null : stepLine(planned.plan.steps[0], source)).toEqual(['virsh', '-c', TEST_URI, 'save', '--domain', vm, '--file', memory]);
    expect(planned.plan.impact.created).toEqual([memory]);
    expect(planned.plan.impact.spaceBytes).toBe(64 * MiB);
    const away = await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'alt', stop: 'save' });
    expect(state(vm)).toBe('shut off');
    expect(away.branches.find((b) => b.name === 'main')?.memoryFile).toBe(memory);
    expect(away.branches.find((b) => b.name === 'main')?.memoryFingerprint).toMatch(/^\d+:\d+:\d+$/);
    expect(((await stat(memory)).mode & 0o777).toString(8)).toBe('600');
    // Another file at that path (a copy here: another inode) is not the memory saved with main; moved back, it is.
    await rename(memory, `${memory}.kept`);
    await copyFile(`${memory}.kept`, memory);
    const swapped = await engine.scanDomain(source, vm);
    expect(swapped.branches.find((b) => b.name === 'main')?.memoryFile).toBeUndefined();
    expect(swapped.problems.map((p) => p.message)).toContainEqual(expect.stringContaining('another file than the one saved then'));
    await rename(`${memory}.kept`, memory);

    const back = await engine.plan(source, { op: 'switch', domain: vm, branch: 'main' });
    if (!back.ok) throw new Error(back.refusal.message);
    expect(back.plan.steps.map((s) => s.kind)).toEqual(['define-domain', 'set-current-snapshot', 'restore-domain', 'trash']);
    const home = await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'main' });
    expect(virshSync(['domstate', '--domain', vm, '--reason']).trim()).toBe('running (restored)');
    expect(home.branches.find((b) => b.current)?.name).toBe('main');
    expect(home.branches.some((b) => b.memoryFile !== undefined)).toBe(false);
    expect(existsSync(memory)).toBe(false);
    virshSync(['destroy', '--domain', vm]);
  });

  test('a revert to a snapshot with memory lands running from it, paused when asked; the memory file is only read', async () => {
    const vm = await seed('mem-snap');
    await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: 'm1', memory: true });
    const memory = lab.path(`${vm}.m1.mem`);
    const sums = await checksums([memory]);
    await applyChecked(engine, source, { op: 'revert-branch', domain: vm, snapshot: 'm1', branch: 'again', stop: 'force' });
    expect(virshSync(['domstate', '--domain', vm, '--reason']).trim()).toBe('running (restored)');
    await applyChecked(engine, source, { op: 'revert-discard', domain: vm, snapshot: 'm1', stop: 'force', start: 'paused' });
    expect(state(vm)).toBe('paused');
    expect(await checksums([memory])).toEqual(sums);
    expect(await refusal({ op: 'revert-discard', domain: vm, snapshot: 'm1', stop: 'save' })).toMatch(/^E_BAD_INPUT: A discarding revert keeps nothing/);
    virshSync(['destroy', '--domain', vm]);
  });

  test.each(['2:ran', '3:done'])('killed at %s, once the VM runs from saved memory on its branch, recovery finishes the switch', async (at) => {
    const vm = await seed(`killed-${at.replace(':', '-')}`);
    const memory = lab.path(`${vm}.main.mem`);
    await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'alt', stop: 'save' });
    const child = spawnSync(process.execPath, [BIN, 'switch', vm, 'main', '--connect', TEST_URI, '--yes'], {
      env: { ...process.env, SNAPTREE_CRASH_AT: at },
      encoding: 'utf8',
    });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    expect(state(vm)).toBe('running');
    // The VM writes to main's tip before recovery runs.
    const tip = diskSource(vm, 'vda');
    virshSync(['qemu-monitor-command', '--domain', vm, '--hmp', 'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -P 0x5a 3M 64k"']);
    const reports = await engine.recover();
    expect(reports.map((r) => r.outcome)).toEqual(['finished']);
    expect(state(vm)).toBe('running');
    const after = await engine.scanDomain(source, vm);
    expect(after.branches.find((b) => b.current)?.name).toBe('main');
    expect(after.branches.some((b) => b.memoryFile !== undefined)).toBe(false);
    expect(existsSync(memory)).toBe(false);
    expect(diskSource(vm, 'vda')).toBe(tip);
    expect(spawnSync('qemu-io', ['-U', '-r', '-f', 'qcow2', '-c', 'read -P 0x5a 3M 64k', tip], { encoding: 'utf8' }).stdout).not.toContain('Pattern verification failed');
    virshSync(['destroy', '--domain', vm]);
  });

  test('a shut-off domain takes the same intent without a stop step; a start is still honoured', async () => {
    const vm = await seed('off');
    virshSync(['destroy', '--domain', vm]);
    const planned = await engine.plan(source, { op: 'switch', domain: vm, branch: 'alt', stop: 'shutdown', start: 'running' });
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.steps.map((s) => s.kind)).toEqual(['define-domain', 'set-current-snapshot', 'start-domain']);
    await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'alt', stop: 'shutdown', start: 'running' });
    expect(state(vm)).toBe('running');
    virshSync(['destroy', '--domain', vm]);
  });
});
