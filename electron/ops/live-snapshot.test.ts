/**
 * Real libvirt and QEMU (TCG, no guest OS): snapshots of running and paused domains, disk-only and with memory,
 * and quiescing refused with its reason. A VM without an OS writes nothing, so the tests write into its disk
 * through its own block layer (the QEMU monitor's qemu-io) and read the running chain with `qemu-io -U -r`.
 */
import { open, stat } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import type { Intent, Step } from '../../shared/ops/plan';
import { stepLine } from '../../shared/ops/step-command';
import type { Engine } from '../engine';
import { withEngineLab } from '../test-support/engine-lab';
import { applyChecked, backingOf, diskSource } from '../test-support/checks';
import { TEST_URI, virshSync, type TestLab } from '../test-support/lab';
import { guestWrite, reads, state } from '../test-support/running-vm';
import { qemuImgCreate } from '../tools/qemu-img';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;

withEngineLab((made, opened) => {
  lab = made;
  engine = opened;
});

/** A running domain with one qcow2 disk; `agent` gives it a guest agent channel nobody answers on. */
async function running(name: string, agent = false): Promise<string> {
  const file = lab.path(`${name}.qcow2`);
  await qemuImgCreate(file, { size: 32 * MiB });
  const vm = await lab.define({ name, disks: [{ target: 'vda', file, format: 'qcow2' }], agent });
  virshSync(['start', '--domain', vm]);
  return vm;
}


function apply(intent: Intent) {
  return applyChecked(engine, source, intent);
}

describe('S7: a snapshot of a running domain', () => {
  test('disk-only: the VM keeps running, new writes land in the new overlay, the saved state reads as it did', async () => {
    const vm = await running('live-disk');
    const base = diskSource(vm, 'vda');
    guestWrite(vm, 0x22, '1M');
    const planned = await engine.plan(source, { op: 'create-snapshot', domain: vm, name: 's1' });
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.steps[0]?.sentence).toContain('The VM keeps running.');
    expect(stepLine(planned.plan.steps[0] as Step, source)).toContain('--disk-only');
    const after = await apply({ op: 'create-snapshot', domain: vm, name: 's1' });
    expect(state(vm)).toBe('running');
    const overlay = diskSource(vm, 'vda');
    expect(backingOf(overlay)).toBe(base);
    guestWrite(vm, 0x33, '2M');
    expect(reads(overlay, 0x33, '2M')).toBe(true);
    expect(reads(overlay, 0x22, '1M')).toBe(true);
    expect(reads(base, 0x22, '1M')).toBe(true);
    expect(reads(base, 0x33, '2M')).toBe(false);
    expect(after.state).toBe('running');
    expect(after.snapshots.map((s) => [s.name, s.state, s.memoryFile, s.disks[0]?.stateLayer])).toEqual([['s1', 'disk-snapshot', null, base]]);
  });

  test('with memory: the RAM is saved beside the disks, private, and the snapshot records it; the VM carries on', async () => {
    const vm = await running('live-mem');
    const planned = await engine.plan(source, { op: 'create-snapshot', domain: vm, name: 'm1', memory: true });
    if (!planned.ok) throw new Error(planned.refusal.message);
    const step = planned.plan.steps[0];
    const memoryFile = lab.path(`${vm}.m1.mem`);
    expect(step?.kind === 'create-snapshot' ? step.memoryFile : null).toBe(memoryFile);
    expect(planned.plan.impact.created).toContain(memoryFile);
    // The space the plan asks for counts the RAM the memory file can take (the lab's VMs have 64 MiB).
    expect(planned.plan.impact.spaceBytes).toBeGreaterThanOrEqual(64 * MiB);
    const line = step === undefined ? null : stepLine(step, source);
    expect(line).toContain('--memspec');
    expect(line).not.toContain('--disk-only');
    const after = await apply({ op: 'create-snapshot', domain: vm, name: 'm1', memory: true });
    expect(state(vm)).toBe('running');
    const info = await stat(memoryFile);
    expect(info.mode & 0o777).toBe(0o600);
    const head = Buffer.alloc(16);
    const handle = await open(memoryFile, 'r');
    await handle.read(head, 0, 16, 0);
    await handle.close();
    expect(head.toString('latin1')).toBe('LibvirtQemudSave');
    expect(after.snapshots.map((s) => [s.name, s.state, s.memoryFile])).toEqual([['m1', 'running', memoryFile]]);
  });

  test('a paused domain stays paused, with or without memory', async () => {
    const vm = await running('live-paused');
    virshSync(['suspend', '--domain', vm]);
    await apply({ op: 'create-snapshot', domain: vm, name: 'p1' });
    expect(state(vm)).toBe('paused');
    const after = await apply({ op: 'create-snapshot', domain: vm, name: 'p2', memory: true });
    expect(state(vm)).toBe('paused');
    expect(after.snapshots.find((s) => s.name === 'p2')?.state).toBe('paused');
    // QEMU saves a paused VM's memory once until it runs again: said in plain words, with the way out.
    const again = await engine.plan(source, { op: 'create-snapshot', domain: vm, name: 'p3', memory: true });
    if (!again.ok) throw new Error(again.refusal.message);
    const error = await engine.apply(again.plan).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/Resume it first.*Nothing was changed/s) });
    expect(state(vm)).toBe('paused');
    expect((await engine.scanDomain(source, vm)).snapshots.map((s) => s.name).sort()).toEqual(['p1', 'p2']);
  });

  test('memory is refused for a shut-off domain, quiescing without an agent that answers, each with its reason', async () => {
    const file = lab.path('off.qcow2');
    await qemuImgCreate(file, { size: 16 * MiB });
    const off = await lab.define({ name: 'off', disks: [{ target: 'vda', file, format: 'qcow2' }] });
    const memory = await engine.plan(source, { op: 'create-snapshot', domain: off, name: 'x', memory: true });
    expect(memory.ok ? 'planned' : memory.refusal.message).toMatch(/only a running or paused domain has memory to save/);

    const bare = await running('no-agent');
    const noChannel = await engine.plan(source, { op: 'create-snapshot', domain: bare, name: 'x', quiesce: true });
    expect(noChannel.ok ? 'planned' : noChannel.refusal.message).toMatch(/no guest agent channel/);

    const silent = await running('silent-agent', true);
    expect((await engine.scanDomain(source, silent)).guestAgent).toBe('disconnected');
    const noAgent = await engine.plan(source, { op: 'create-snapshot', domain: silent, name: 'x', quiesce: true });
    expect(noAgent.ok ? 'planned' : noAgent.refusal.message).toMatch(/no agent is connected/);
    // libvirt says the same: the plan refuses what it would fail.
    expect(() =>
      virshSync(['snapshot-create-as', '--domain', silent, '--name', 'q', '--disk-only', '--quiesce', '--atomic', '--diskspec', `vda,snapshot=external,file=${lab.path('q.qcow2')}`]),
    ).toThrow(/guest agent is not connected/i);
  });
});
