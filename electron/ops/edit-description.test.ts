/**
 * Real libvirt: a snapshot's description set through the app, with text that would break a command line or an
 * XML written by hand (quotes, `<`, `&`, line breaks, a leading "--", non-ASCII). virsh shows exactly that text
 * afterwards, the undo the executor runs defines the record as it was, and an unknown snapshot is refused.
 */
import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, test } from 'vitest';
import { stepLine } from '../../shared/ops/step-command';
import type { Engine } from '../engine';
import { withEngineLab } from '../test-support/engine-lab';
import { applyChecked } from '../test-support/checks';
import { TEST_URI, virshSync, type TestLab } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { localHostFiles } from './host-files';
import { captureUndo, runStep, undoStep, type StepContext } from './steps';
import { VirshPerCall } from '../tools/virsh';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
const HOSTILE = `--help He said "don't" <b>bold</b> & more\n--second line; $(reboot) \`id\`\n\tnaïve ünïcödé 快照 🙂`;
let lab: TestLab;
let engine: Engine;

withEngineLab((made, opened) => {
  lab = made;
  engine = opened;
});

/** A shut-off domain with one qcow2 disk and a snapshot s1 described as `first`. */
async function domainWithSnapshot(name: string): Promise<string> {
  const file = lab.path(`${name}.qcow2`);
  await qemuImgCreate(file, { size: 16 * 1024 * 1024 });
  const vm = await lab.define({ name, disks: [{ target: 'vda', file, format: 'qcow2' }] });
  lab.snapshot(vm, 's1', ['--description', 'first']);
  return vm;
}

/** The description in libvirt's record of the snapshot, as virsh dumps it; null when it has none. */
function described(vm: string, snapshot: string): string | null {
  const xml = virshSync(['snapshot-dumpxml', '--domain', vm, '--snapshotname', snapshot]);
  const el = new DOMParser().parseFromString(xml, 'text/xml').getElementsByTagName('description').item(0);
  return el === null ? null : el.textContent;
}

describe('edit a snapshot description', () => {
  test('hostile text lands exactly as typed, as a record redefined from a file, never on a command line', async () => {
    const vm = await domainWithSnapshot('desc-edit');
    const planned = await engine.plan(source, { op: 'edit-description', domain: vm, snapshot: 's1', description: HOSTILE });
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.steps).toHaveLength(1);
    const line = stepLine(planned.plan.steps[0] ?? { kind: 'trash', path: '/', sentence: '' }, source)?.join(' ') ?? '';
    expect(line).toContain('--redefine');
    expect(line).not.toContain('bold');
    const after = await applyChecked(engine, source, { op: 'edit-description', domain: vm, snapshot: 's1', description: HOSTILE });
    expect(described(vm, 's1')).toBe(HOSTILE);
    expect(after.snapshots.find((s) => s.name === 's1')?.description).toBe(HOSTILE);
    // The record keeps everything else: its disks and that it is libvirt's current snapshot.
    expect(virshSync(['snapshot-current', '--domain', vm, '--name']).trim()).toBe('s1');
    expect(virshSync(['snapshot-dumpxml', '--domain', vm, '--snapshotname', 's1'])).toContain(lab.path('desc-edit.s1'));
  });

  test('an empty text removes the description', async () => {
    const vm = await domainWithSnapshot('desc-clear');
    await applyChecked(engine, source, { op: 'edit-description', domain: vm, snapshot: 's1', description: '' });
    expect(described(vm, 's1')).toBeNull();
  });

  test('undo defines the record as it was', async () => {
    const vm = await domainWithSnapshot('desc-undo');
    const planned = await engine.plan(source, { op: 'edit-description', domain: vm, snapshot: 's1', description: HOSTILE });
    if (!planned.ok) throw new Error(planned.refusal.message);
    const step = planned.plan.steps[0];
    if (step === undefined) throw new Error('no step');
    const virsh = new VirshPerCall(TEST_URI);
    const ctx: StepContext = { virsh, files: localHostFiles, operationId: planned.plan.id, domain: vm, op: 'edit-description' };
    const undo = await captureUndo(step, ctx);
    await runStep(step, ctx);
    expect(described(vm, 's1')).toBe(HOSTILE);
    await undoStep(step, undo, ctx);
    expect(described(vm, 's1')).toBe('first');
    expect(virshSync(['snapshot-current', '--domain', vm, '--name']).trim()).toBe('s1');
  });

  test('an unknown snapshot is refused', async () => {
    const vm = await domainWithSnapshot('desc-none');
    const planned = await engine.plan(source, { op: 'edit-description', domain: vm, snapshot: 'nope', description: 'x' });
    expect(planned.ok ? 'planned' : planned.refusal.code).toBe('E_NOT_FOUND');
  });
});
