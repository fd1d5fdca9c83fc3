/**
 * Real libvirt and QEMU (TCG, no guest OS): deleting snapshots of a running or paused domain and committing its
 * current tip, by QEMU's block jobs while the VM runs (S7). Every other node reads the same bytes, the records
 * name real files, no job is left behind, and the VM goes on writing where it wrote. The tests write into the
 * running disk through QEMU's own block layer and read the running chain shared (`-U`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Intent, Step } from '../../shared/ops/plan';
import { stepLine } from '../../shared/ops/step-command';
import type { Engine } from '../engine';
import { withEngineLab } from '../test-support/engine-lab';
import { applyChecked, backingOf, expectSameViews, exportViews } from '../test-support/checks';
import { TEST_URI, virshSync, type TestLab } from '../test-support/lab';
import { guestWrite, reads, state } from '../test-support/running-vm';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { unfinishedJournals } from './journal';

const MiB = 1024 * 1024;
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;

withEngineLab((made, opened) => {
  lab = made;
  engine = opened;
});

/** The running disk's active file, from the live definition. */
const liveSource = (vm: string): string => /<source file='([^']+)'/.exec(virshSync(['dumpxml', '--domain', vm]))?.[1] ?? '';
const jobOn = (vm: string): string => virshSync(['blockjob', '--domain', vm, '--path', 'vda', '--info', '--raw']).trim();
const overlay = (vm: string, snap: string): string => lab.path(`${vm}.${snap}.vda.qcow2`);

async function planned(intent: Intent): Promise<Step[]> {
  const plan = await engine.plan(source, intent);
  if (!plan.ok) throw new Error(`${plan.refusal.code}: ${plan.refusal.message}`);
  return plan.plan.steps;
}

async function refusal(intent: Intent): Promise<string> {
  const plan = await engine.plan(source, intent);
  return plan.ok ? 'planned' : `${plan.refusal.code}: ${plan.refusal.message}`;
}

/** A running domain on base → s1 → s2 → s3 (snapshots taken live by the engine), each layer written by the VM. */
async function seed(name: string, baseMiB = 1): Promise<string> {
  const base = lab.path(`${name}.qcow2`);
  await qemuImgCreate(base, { size: 32 * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, baseMiB * MiB);
  const vm = await lab.define({ name, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  virshSync(['start', '--domain', vm]);
  for (const [i, snap] of ['s1', 's2', 's3'].entries()) {
    await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: snap });
    guestWrite(vm, 0x21 + i, `${i + 1}M`);
  }
  return vm;
}

/**
 * A running domain whose snapshot s1 can only be deleted by a pull: s1's saved state (the base) is shared with a
 * branch "alt", and s1's layer (holding `held` MiB) is no saved state (s2's record is gone) and no tip.
 */
async function pullShape(name: string, size: number, held: number): Promise<string> {
  const base = lab.path(`${name}.qcow2`);
  await qemuImgCreate(base, { size: size * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, MiB);
  const vm = await lab.define({ name, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: 's1' });
  await writePattern(overlay(vm, 's1'), 'qcow2', 0x21, MiB, held * MiB);
  await applyChecked(engine, source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'alt' });
  await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'main' });
  await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: 's2' });
  await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's2', metadataOnly: true });
  virshSync(['start', '--domain', vm]);
  return vm;
}

/** Exports every node's view of the domain, for expectSameViews after the operation. */
async function viewsOf(vm: string): Promise<Record<string, string>> {
  return exportViews(await engine.scanDomain(source, vm), lab.path(`views-${vm}-${Date.now()}`));
}

describe('S7: deleting snapshots of a running domain by block jobs', () => {
  test('a middle snapshot: QEMU commits its layer into its saved state, the VM keeps running, every other node reads the same', async () => {
    const vm = await seed('mid');
    const views = await viewsOf(vm);
    const steps = await planned({ op: 'delete-snapshot', domain: vm, snapshot: 's2' });
    expect(steps.map((s) => s.kind)).toEqual(['block-commit', 'redefine-snapshot', 'delete-snapshot-metadata', 'trash']);
    expect(stepLine(steps[0] as Step, source)).toEqual(['virsh', '-c', TEST_URI, 'blockcommit', '--domain', vm, '--path', 'vda', '--top', overlay(vm, 's2'), '--base', overlay(vm, 's1')]);
    expect(steps[0]?.sentence).toMatch(/QEMU does it while the VM runs/);
    const after = await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's2' });
    expect(state(vm)).toBe('running');
    expect(jobOn(vm)).toBe('');
    await expectSameViews(after, views, ['s:s2']);
    expect(backingOf(overlay(vm, 's3'))).toBe(overlay(vm, 's1'));
    expect(existsSync(overlay(vm, 's2'))).toBe(false);
    expect(after.snapshots.find((s) => s.name === 's3')?.parent).toBe('s1');
    // The VM writes on where it wrote, and reads what it had.
    guestWrite(vm, 0x5a, '5M');
    expect(reads(overlay(vm, 's3'), 0x5a, '5M') && reads(overlay(vm, 's3'), 0x22, '2M')).toBe(true);

    // Paused, the layer below the one the VM writes cannot be committed (QEMU keeps it read-only): refused, and
    // done once the VM runs again.
    virshSync(['suspend', '--domain', vm]);
    expect(await refusal({ op: 'delete-snapshot', domain: vm, snapshot: 's1' })).toMatch(/^E_DOMAIN_RUNNING: .* is paused: QEMU commits .* only while the VM runs\. Resume it/);
    virshSync(['resume', '--domain', vm]);
    const resumed = await viewsOf(vm);
    const again = await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    await expectSameViews(again, resumed, ['s:s1']);
    expect(backingOf(overlay(vm, 's3'))).toBe(lab.path('mid.qcow2'));
    virshSync(['destroy', '--domain', vm]);
  });

  test('the snapshot below the top: an active commit, and the disk pivots onto its saved state, the VM left paused', async () => {
    const vm = await seed('top');
    virshSync(['suspend', '--domain', vm]);
    const views = await viewsOf(vm);
    const steps = await planned({ op: 'delete-snapshot', domain: vm, snapshot: 's3' });
    expect(steps.map((s) => s.kind)).toEqual(['block-commit', 'define-domain', 'delete-snapshot-metadata', 'trash']);
    expect(stepLine(steps[0] as Step, source)?.slice(-1)).toEqual(['--active']);
    expect(steps[0]?.sentence).toMatch(/QEMU does it while the VM stays paused.*virsh blockjob --pivot/);
    const after = await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's3' });
    expect(state(vm)).toBe('paused');
    virshSync(['resume', '--domain', vm]);
    expect(jobOn(vm)).toBe('');
    expect(liveSource(vm)).toBe(overlay(vm, 's2'));
    expect(after.disks[0]?.file).toBe(overlay(vm, 's2'));
    expect(after.branches.find((b) => b.current)?.tips[0]?.file).toBe(overlay(vm, 's2'));
    await expectSameViews(after, views, ['s:s3']);
    guestWrite(vm, 0x5b, '6M');
    expect(reads(overlay(vm, 's2'), 0x5b, '6M') && reads(overlay(vm, 's2'), 0x23, '3M')).toBe(true);
    virshSync(['destroy', '--domain', vm]);
  });

  test('a saved state other nodes share: the running layer pulls in the data and builds on it; below the running layer it is refused', async () => {
    const vm = await pullShape('pull', 32, 1);
    const base = lab.path('pull.qcow2');
    guestWrite(vm, 0x22, '2M');
    const views = await viewsOf(vm);
    const steps = await planned({ op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    expect(steps.map((s) => s.kind)).toEqual(['block-pull', 'delete-snapshot-metadata', 'trash']);
    expect(stepLine(steps[0] as Step, source)).toEqual(['virsh', '-c', TEST_URI, 'blockpull', '--domain', vm, '--path', 'vda', '--base', base]);
    const after = await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    expect(state(vm)).toBe('running');
    expect(jobOn(vm)).toBe('');
    expect(backingOf(overlay(vm, 's2'))).toBe(base);
    expect(existsSync(overlay(vm, 's1'))).toBe(false);
    await expectSameViews(after, views, ['s:s1']);
    expect(reads(overlay(vm, 's2'), 0x21, '1M') && reads(overlay(vm, 's2'), 0x22, '2M')).toBe(true);

    // s3's saved state shared with a branch, its layer no saved state and two layers below the running one: QEMU
    // pulls into the active layer only, so that is refused while the VM runs.
    await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: 's3' });
    await applyChecked(engine, source, { op: 'revert-branch', domain: vm, snapshot: 's3', branch: 'alt2', stop: 'force' });
    await applyChecked(engine, source, { op: 'switch', domain: vm, branch: 'main', start: 'running' });
    for (const snap of ['s4', 's5']) await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: snap });
    await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's4', metadataOnly: true });
    expect(await refusal({ op: 'delete-snapshot', domain: vm, snapshot: 's3' })).toMatch(/^E_DOMAIN_RUNNING: .*lies below its active layer.*Shut it down first/);
    // Paused, a pull is refused too: QEMU puts the pulled data on disk when it pauses a running VM.
    virshSync(['suspend', '--domain', vm]);
    await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's5', metadataOnly: true });
    expect(await refusal({ op: 'delete-snapshot', domain: vm, snapshot: 's3' })).toMatch(/^E_DOMAIN_RUNNING: .* is paused: copying .*Resume it, or shut it down first/);
    virshSync(['destroy', '--domain', vm]);
  });
});

describe('S7: the engine killed during a pull, then recovered', () => {
  test.each(['0:started', '0:job', '0:ran', '0:done'])('at %s: no job is left, every node reads as before, and the data is on disk', async (at) => {
    const vm = await pullShape(`kill-${at.replace(':', '-')}`, 512, 384);
    const views = await viewsOf(vm);
    const child = spawnSync(process.execPath, [BIN, 'delete', vm, 's1', '--connect', TEST_URI, '--yes'], { env: { ...process.env, SNAPTREE_CRASH_AT: at }, encoding: 'utf8' });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const reports = await engine.recover();
    expect(reports.map((r) => r.outcome)).toEqual([expect.stringMatching(/^(finished|rolled-back)$/)]);
    expect(await unfinishedJournals()).toEqual([]);
    expect(jobOn(vm)).toBe('');
    expect(state(vm)).toBe('running');
    const after = await engine.scanDomain(source, vm);
    await expectSameViews(after, views, reports[0]?.outcome === 'finished' ? ['s:s1'] : []);
    // What the VM reads is on disk: QEMU killed now loses nothing.
    virshSync(['destroy', '--domain', vm]);
    await expectSameViews(await engine.scanDomain(source, vm), views, reports[0]?.outcome === 'finished' ? ['s:s1'] : []);
  });
});

describe('S7: a block job QEMU will not start', () => {
  test('on a VM paused when its memory was saved: said in plain words, and nothing was changed', async () => {
    const vm = await seed('postsave');
    virshSync(['suspend', '--domain', vm]);
    await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: 'm1', memory: true });
    const views = await viewsOf(vm);
    const error = await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 'm1' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/disks read-only: its memory was saved while it was paused.*Resume it.*Nothing was changed/s) });
    expect(await unfinishedJournals()).toEqual([]);
    expect(jobOn(vm)).toBe('');
    await expectSameViews(await engine.scanDomain(source, vm), views);
    virshSync(['destroy', '--domain', vm]);
  });
});

describe('S7: a block job the engine did not start', () => {
  test('one waiting to be pivoted shows on the domain, and nothing is planned on it; the job is left alone', async () => {
    const vm = await seed('theirs');
    // Someone else's active commit of the whole chain into the base, left waiting for its pivot.
    virshSync(['blockcommit', '--domain', vm, '--path', 'vda', '--active', '--base', lab.path('theirs.qcow2')]);
    const scanned = await engine.scanDomain(source, vm);
    expect(scanned.problems).toContainEqual(expect.objectContaining({ code: 'block-job', severity: 'error', target: 'vda', path: lab.path('theirs.qcow2') }));
    expect(await refusal({ op: 'delete-snapshot', domain: vm, snapshot: 's3' })).toMatch(/^E_NOT_SUPPORTED: .*A block job runs on disk vda, into .*theirs\.qcow2/);
    expect(jobOn(vm)).toMatch(/type=Active Block Commit/);
    virshSync(['blockjob', '--domain', vm, '--path', 'vda', '--abort']);
    virshSync(['destroy', '--domain', vm]);
  });

  test('one that shows nowhere in the definition refuses the step before it starts: nothing changed, the job runs on', async () => {
    const vm = await seed('theirs-pull', 8);
    // Someone else's pull into the active layer, slowed down so that it still runs when the operation starts.
    virshSync(['blockpull', '--domain', vm, '--path', 'vda', '--bandwidth', '1']);
    const error = await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's3' }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/Another block job \(Block Pull\) runs on vda.*Nothing was changed: no step ran/s);
    expect(await unfinishedJournals()).toEqual([]);
    expect(jobOn(vm)).toMatch(/type=Block Pull/);
    expect(liveSource(vm)).toBe(overlay(vm, 's3'));
    virshSync(['blockjob', '--domain', vm, '--path', 'vda', '--abort']);
    virshSync(['destroy', '--domain', vm]);
  });
});

describe('S7: committing the current tip of a running domain', () => {
  test('refused while its backing file holds a snapshot; once nothing else depends on it, an active commit and a pivot', async () => {
    const vm = await seed('commit');
    expect(await refusal({ op: 'commit', domain: vm, branch: 'main' })).toMatch(/^E_SHARED_BACKING: /);
    for (const snap of ['s3', 's2', 's1']) await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: snap, metadataOnly: true });
    const views = await viewsOf(vm);
    const steps = await planned({ op: 'commit', domain: vm, branch: 'main' });
    expect(steps.map((s) => s.kind)).toEqual(['block-commit', 'define-domain', 'trash']);
    const plan = await engine.plan(source, { op: 'commit', domain: vm, branch: 'main' });
    expect(plan.ok && plan.plan.impact.mustStop).toBe(false);
    const after = await applyChecked(engine, source, { op: 'commit', domain: vm, branch: 'main' });
    expect(state(vm)).toBe('running');
    expect(jobOn(vm)).toBe('');
    expect(liveSource(vm)).toBe(overlay(vm, 's2'));
    await expectSameViews(after, views);
    virshSync(['destroy', '--domain', vm]);
  });
});

describe('S7: block job progress and cancel', () => {
  /** Applies the plan for `intent`, cancelling once its block job reports progress; the percents seen, and the error. */
  async function cancelled(intent: Intent): Promise<{ percents: number[]; error: unknown }> {
    const plan = await engine.plan(source, intent);
    if (!plan.ok) throw new Error(plan.refusal.message);
    const controller = new AbortController();
    const percents: number[] = [];
    const error = await engine
      .apply(plan.plan, {
        signal: controller.signal,
        onProgress: (event) => {
          if (event.percent === null) return;
          percents.push(event.percent);
          controller.abort();
        },
      })
      .catch((e: unknown) => e);
    return { percents, error };
  }

  test("a pull reports the job's progress; Cancel aborts it, and nothing was changed", async () => {
    const vm = await pullShape('cpull', 512, 384);
    const views = await viewsOf(vm);
    const { percents, error } = await cancelled({ op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    expect(percents.length).toBeGreaterThan(0);
    expect(percents.every((p) => p >= 0 && p <= 100)).toBe(true);
    expect(error).toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/block job on vda was stopped.*Nothing was changed/s) });
    expect(state(vm)).toBe('running');
    expect(jobOn(vm)).toBe('');
    expect(backingOf(overlay(vm, 's2'))).toBe(overlay(vm, 's1'));
    await expectSameViews(await engine.scanDomain(source, vm), views);
    virshSync(['destroy', '--domain', vm]);
  });

  test('Ctrl+C in the CLI cancels the pull it runs: the job is aborted and nothing was changed', async () => {
    const vm = await pullShape('cint', 512, 384);
    const views = await viewsOf(vm);
    const child = spawn(process.execPath, [BIN, 'delete', vm, 's1', '--connect', TEST_URI, '--yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      // Interrupted once the job reports progress.
      if (/\[1\/3\] \d+%/.test(said) && !child.killed) child.kill('SIGINT');
    });
    expect(await exited, said).not.toBe(0);
    expect(said).toMatch(/Cancelling…/);
    expect(said).toMatch(/Cancelled: the block job on vda was stopped.*Nothing was changed.*\[E_CANCELLED\]/s);
    expect(jobOn(vm)).toBe('');
    expect(await unfinishedJournals()).toEqual([]);
    await expectSameViews(await engine.scanDomain(source, vm), views);
    virshSync(['destroy', '--domain', vm]);
  });

  test('Cancel aborts an active commit, the VM stays on its files, and recovery finishes the operation', async () => {
    const base = lab.path('ccommit.qcow2');
    await qemuImgCreate(base, { size: 512 * MiB });
    const vm = await lab.define({ name: 'ccommit', disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
    await applyChecked(engine, source, { op: 'create-snapshot', domain: vm, name: 's1' });
    await writePattern(overlay(vm, 's1'), 'qcow2', 0x21, 0, 384 * MiB);
    virshSync(['start', '--domain', vm]);
    const views = await viewsOf(vm);
    const { percents, error } = await cancelled({ op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    expect(percents.length).toBeGreaterThan(0);
    expect(error).toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/block job on vda was stopped.*virt-snaptree recover/s) });
    expect(jobOn(vm)).toBe('');
    expect(liveSource(vm)).toBe(overlay(vm, 's1'));
    // Nothing else is planned on the domain until recovery has finished it: the scan says why.
    expect((await engine.scanDomain(source, vm)).problems).toContainEqual(expect.objectContaining({ code: 'unfinished-operation', severity: 'error' }));
    expect(await refusal({ op: 'create-snapshot', domain: vm, name: 'meanwhile' })).toMatch(/An earlier delete-snapshot on .* stopped part-way; finish or undo it first/);
    expect((await engine.recover()).map((r) => r.outcome)).toEqual(['finished']);
    expect(state(vm)).toBe('running');
    expect(liveSource(vm)).toBe(base);
    const after = await engine.scanDomain(source, vm);
    expect(after.snapshots).toEqual([]);
    await expectSameViews(after, views, ['s:s1']);
    virshSync(['destroy', '--domain', vm]);
  });
});
