import { execFileSync } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import type { Intent, Plan } from '../../shared/ops/plan';
import { stepCommand } from '../../shared/ops/step-command';
import { Engine } from '../engine';
import {
  applyChecked,
  backingOf,
  checksums,
  diskSource,
  expectSameViews,
  expectSnapshotRecordsTrue,
  expectStarts,
  exportViews,
} from '../test-support/checks';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let vm: string;
let exports: string;

async function domain(): Promise<Domain> {
  return engine.scanDomain(source, vm);
}

async function planned(intent: Intent): Promise<Plan> {
  const result = await engine.plan(source, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.code} ${result.refusal.message}`);
  return result.plan;
}

function apply(intent: Intent): Promise<Domain> {
  return applyChecked(engine, source, intent);
}

/** Reads `length` bytes at `offset` of an image's guest view and checks they are all `pattern`. */
function reads(file: string, pattern: number, offset: number, length: number): boolean {
  try {
    const out = execFileSync('qemu-io', ['-r', '-U', '-f', 'qcow2', '-c', `read -P ${pattern} ${offset} ${length}`, file], { encoding: 'utf8' });
    return !/Pattern verification failed/.test(out);
  } catch {
    return false;
  }
}

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  exports = lab.path('exports');
  await mkdir(exports);
  engine = new Engine({ host: 'serve' });
  // The seed: base → snap1 → snap2 → snap3, data in every layer, the current tip too.
  await qemuImgCreate(lab.path('seed.qcow2'), { size: 64 * MiB });
  await writePattern(lab.path('seed.qcow2'), 'qcow2', 0x10, 0, 8 * MiB);
  vm = await lab.define({ name: 'seed', disks: [{ target: 'vda', file: lab.path('seed.qcow2'), format: 'qcow2' }], cdrom: true });
  for (const [i, snap] of ['snap1', 'snap2', 'snap3'].entries()) {
    lab.snapshot(vm, snap, ['--diskspec', 'hdc,snapshot=no']);
    await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x21 + i, (i + 1) * 8 * MiB, 2 * MiB);
  }
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('operations on a shut-off domain (S1–S4)', () => {
  test('S1: revert to snap1 with a new branch snap1.1', async () => {
    const before = await domain();
    const views = exportViews(before, join(exports, 's1'));
    const files = await checksums(Object.keys(before.layers));
    const plan = await planned({ op: 'revert-branch', domain: vm, snapshot: 'snap1', branch: 'snap1.1' });
    expect(plan.steps[0] && stepCommand(plan.steps[0])?.args.slice(0, 1)).toEqual(['create']);

    const after = await apply(plan.intent);
    const snap1 = after.snapshots.find((s) => s.name === 'snap1');
    const overlay = diskSource(vm, 'vda');
    expect(overlay).toBe(lab.path(`${vm}.snap1.1.vda.qcow2`));
    expect(backingOf(overlay)).toBe(snap1?.disks[0]?.stateLayer);
    expect((await stat(overlay)).mode & 0o777).toBe(0o600);
    expect(after.branches.map((b) => [b.name, b.current, b.base])).toEqual([
      ['snap1.1', true, 'snap1'],
      ['main', false, 'snap3'],
    ]);
    // Every old file is byte-identical, and every node reads what it read.
    expect(await checksums(Object.keys(files))).toEqual(files);
    await expectSameViews(after, views);
    expectSnapshotRecordsTrue(vm);
    expectStarts(vm);
    // libvirt agrees: the next snapshot is a child of snap1.
    lab.snapshot(vm, 'snap4', ['--diskspec', 'hdc,snapshot=no']);
    expect(virshSync(['snapshot-parent', '--domain', vm, '--snapshotname', 'snap4']).trim()).toBe('snap1');
  });

  test('S2: switch back to main; what was written on snap1.1 stays in its tip', async () => {
    const tip = diskSource(vm, 'vda');
    await writePattern(tip, 'qcow2', 0x55, 40 * MiB, MiB);
    const after = await apply({ op: 'switch', domain: vm, branch: 'main' });
    expect(diskSource(vm, 'vda')).toBe(after.branches.find((b) => b.name === 'main')?.tips[0]?.file);
    // The guest sees the data written before the revert (snap3's writes), and not snap1.1's.
    expect(reads(diskSource(vm, 'vda'), 0x23, 24 * MiB, 2 * MiB)).toBe(true);
    expect(reads(tip, 0x55, 40 * MiB, MiB)).toBe(true);
    expect(after.branches.find((b) => b.name === 'snap1.1')?.origin).toBe('metadata');
    expectSnapshotRecordsTrue(vm);
    expectStarts(vm);
  });

  test('S3: delete snap2 (one child): everything else reads the same, records re-parented', async () => {
    const before = await domain();
    const views = exportViews(before, join(exports, 's3'));
    const plan = await planned({ op: 'delete-snapshot', domain: vm, snapshot: 'snap2' });
    expect(plan.steps.map((s) => s.kind)).toContain('commit');
    const after = await apply(plan.intent);
    expect(after.snapshots.map((s) => s.name).sort()).toEqual(['snap1', 'snap3', 'snap4']);
    expect(after.snapshots.find((s) => s.name === 'snap3')?.parent).toBe('snap1');
    expect(virshSync(['snapshot-parent', '--domain', vm, '--snapshotname', 'snap3']).trim()).toBe('snap1');
    await expectSameViews(after, views, ['s:snap2']);
    expectSnapshotRecordsTrue(vm);
    expectStarts(vm);
  });

  test('S4: a commit into a shared layer is refused with the reason; deleting snap1 keeps both branches', async () => {
    const refused = await engine.plan(source, { op: 'commit', domain: vm, branch: 'snap1.1' });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.refusal.code).toBe('E_SHARED_BACKING');
      expect(refused.refusal.message).toMatch(/depend/);
    }
    const before = await domain();
    const views = exportViews(before, join(exports, 's4'));
    const after = await apply({ op: 'delete-snapshot', domain: vm, snapshot: 'snap1' });
    expect(after.snapshots.map((s) => s.name).sort()).toEqual(['snap3', 'snap4']);
    expect(after.branches.map((b) => b.name).sort()).toEqual(['main', 'snap1.1']);
    await expectSameViews(after, views, ['s:snap1']);
    expectSnapshotRecordsTrue(vm);
    expectStarts(vm);
  });
});
