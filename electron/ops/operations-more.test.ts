import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { stepLine } from '../../shared/ops/step-command';
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
import { corruptRefcounts, leakCluster } from '../test-support/damage';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;

function apply(intent: Intent): Promise<Domain> {
  return applyChecked(engine, source, intent);
}

/** A domain with the given disks, each a fresh qcow2 with data, and snapshots s1..sN taken with the app. */
async function build(name: string, targets: string[], snapshots: string[], cdrom = false): Promise<string> {
  const disks = [];
  for (const [i, target] of targets.entries()) {
    const file = lab.path(`${name}-${target}.qcow2`);
    await qemuImgCreate(file, { size: 32 * MiB });
    await writePattern(file, 'qcow2', 0x10 + i, 0, 2 * MiB);
    disks.push({ target, file, format: 'qcow2' as const });
  }
  const vm = await lab.define({ name, disks, cdrom });
  for (const [k, snap] of snapshots.entries()) {
    await apply({ op: 'create-snapshot', domain: vm, name: snap });
    for (const [i, target] of targets.entries()) await writePattern(diskSource(vm, target), 'qcow2', 0x30 + 16 * k + i, (k + 1) * 2 * MiB, MiB);
  }
  return vm;
}

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('create snapshot', () => {
  test('new overlays become the active layers, private to their owner, and libvirt records the snapshot', async () => {
    const vm = await build('create', ['vda'], []);
    const base = diskSource(vm, 'vda');
    const after = await apply({ op: 'create-snapshot', domain: vm, name: 'before upgrade', description: 'kernel 6.1' });
    const overlay = diskSource(vm, 'vda');
    expect(overlay).not.toBe(base);
    expect(backingOf(overlay)).toBe(base);
    expect((await stat(overlay)).mode & 0o777).toBe(0o600);
    expect(after.snapshots.map((s) => [s.name, s.description, s.disks[0]?.stateLayer])).toEqual([['before upgrade', 'kernel 6.1', base]]);
    expectStarts(vm);
  });
});

describe('S5: commit', () => {
  test('a tip is committed into a backing file nothing else uses; refused when a snapshot holds it', async () => {
    const vm = await build('commit', ['vda'], ['s1']);
    const refused = await engine.plan(source, { op: 'commit', domain: vm, branch: 'main' });
    expect(refused.ok ? 'planned' : refused.refusal.code).toBe('E_SHARED_BACKING');
    // Forget the snapshot record: now the base serves only the tip.
    virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', 's1', '--metadata']);
    const before = await engine.scanDomain(source, vm);
    const views = exportViews(before, lab.path('views-commit'));
    const tip = diskSource(vm, 'vda');
    const base = backingOf(tip) as string;
    const after = await apply({ op: 'commit', domain: vm, branch: 'main' });
    expect(diskSource(vm, 'vda')).toBe(base);
    expect(existsSync(tip)).toBe(false);
    // The guest reads exactly what it read before, now from the base alone.
    await expectSameViews(after, views);
    expect((await engine.trash(source, vm)).map((e) => e.original)).toEqual([tip]);
    expectStarts(vm);
  });
});

describe('S6: revert discarding', () => {
  test("only the abandoned branch's own files go to the trash, and restoring them works", async () => {
    const vm = await build('discard', ['vda'], ['s1', 's2']);
    const before = await engine.scanDomain(source, vm);
    const views = exportViews(before, lab.path('views-discard'));
    const s1State = before.snapshots.find((s) => s.name === 's1')?.disks[0]?.stateLayer as string;
    const abandoned = [diskSource(vm, 'vda'), before.snapshots.find((s) => s.name === 's2')?.disks[0]?.stateLayer as string];
    const sums = await checksums(abandoned);
    const after = await apply({ op: 'revert-discard', domain: vm, snapshot: 's1' });
    expect(after.snapshots.map((s) => s.name)).toEqual(['s1']);
    expect(backingOf(diskSource(vm, 'vda'))).toBe(s1State);
    expect(abandoned.every((p) => !existsSync(p))).toBe(true);
    await expectSameViews(after, views, ['s:s2', 'b:main']);
    expectSnapshotRecordsTrue(vm);
    expectStarts(vm);

    const trash = await engine.trash(source, vm);
    expect(trash.map((e) => e.original).sort()).toEqual([...abandoned].sort());
    const operationId = trash[0]?.operationId as string;
    await expect(engine.emptyTrash(source, { operationId: 'no-such-operation' }, vm)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    expect((await engine.restoreTrash(source, { operationId }, vm)).sort()).toEqual([...abandoned].sort());
    expect(await checksums(abandoned)).toEqual(sums);
  });

  test('deleting a branch trashes its tip and nothing it shares', async () => {
    const vm = await build('dropbranch', ['vda'], ['s1']);
    await apply({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'side' });
    const before = await engine.scanDomain(source, vm);
    const mainTip = before.branches.find((b) => b.name === 'main')?.tips[0]?.file as string;
    const after = await apply({ op: 'delete-branch', domain: vm, branch: 'main' });
    expect(after.branches.map((b) => b.name)).toEqual(['side']);
    expect(existsSync(mainTip)).toBe(false);
    expect(after.snapshots.map((s) => s.name)).toEqual(['s1']);
    expectSnapshotRecordsTrue(vm);
  });
});

describe('S8: two disks and a CD-ROM', () => {
  test('every operation acts on both disks at once; the CD-ROM stays as it is', async () => {
    const vm = await build('two', ['vda', 'vdb'], ['s1', 's2'], true);
    const start = await engine.scanDomain(source, vm);
    expect(start.disks.find((d) => d.target === 'hdc')?.managed).toBe(false);
    const views = exportViews(start, lab.path('views-two'));

    const reverted = await apply({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'b2' });
    const s1 = reverted.snapshots.find((s) => s.name === 's1');
    for (const target of ['vda', 'vdb']) {
      expect(backingOf(diskSource(vm, target))).toBe(s1?.disks.find((d) => d.target === target)?.stateLayer);
    }
    expect(reverted.branches.find((b) => b.name === 'main')?.tips.map((t) => t.target)).toEqual(['vda', 'vdb']);
    await expectSameViews(reverted, views, ['b:main', 'b:b2']);

    const switched = await apply({ op: 'switch', domain: vm, branch: 'main' });
    expect(switched.branches.find((b) => b.current)?.name).toBe('main');
    const views2 = exportViews(switched, lab.path('views-two-2'));
    const deleted = await apply({ op: 'delete-snapshot', domain: vm, snapshot: 's2' });
    expect(deleted.snapshots.map((s) => s.name)).toEqual(['s1']);
    await expectSameViews(deleted, views2, ['s:s2']);
    expectSnapshotRecordsTrue(vm);
    expectStarts(vm);
  });
});

describe('cancel', () => {
  test('an operation cancelled before its first step changes nothing and says so', async () => {
    const vm = await build('cancel', ['vda'], ['s1']);
    const before = await checksums(Object.keys((await engine.scanDomain(source, vm)).layers));
    const disk = diskSource(vm, 'vda');
    engine.setSources([{ id: 'test', label: TEST_URI, source, demo: false }]);
    const planned = await engine.handle('plan', { sourceId: 'test', intent: { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'never' } });
    if (!planned.ok) throw new Error(planned.refusal.message);
    const running = engine.handle('apply', { planId: planned.plan.id });
    // The engine is still re-checking the plan against a fresh scan: the cancel lands before any step.
    expect(await engine.handle('operations', {})).toEqual([expect.objectContaining({ operationId: planned.plan.id })]);
    expect(await engine.handle('cancel', { operationId: planned.plan.id })).toEqual({ cancelled: true });
    await expect(running).rejects.toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/Nothing was changed/) });
    expect(diskSource(vm, 'vda')).toBe(disk);
    expect(await checksums(Object.keys(before))).toEqual(before);
    expect(await engine.handle('operations', {})).toEqual([]);
  });
});

describe('repair: the fix the health check offers', () => {
  test('leaked clusters in a frozen saved state are freed; every node reads the same', async () => {
    const vm = await build('leaky', ['vda'], ['s1']);
    const before = await engine.scanDomain(source, vm);
    const state = before.snapshots[0]?.disks[0]?.stateLayer as string;
    leakCluster(state);
    const [sick] = await engine.check(source, vm);
    expect(sick?.layers.find((l) => l.path === state)).toMatchObject({ leaks: 1, corruptions: 0 });
    expect(sick?.healthy).toBe(false);
    const views = exportViews(before, lab.path('views-leaky'));
    const planned = await engine.plan(source, { op: 'repair', domain: vm, path: state, mode: 'leaks' });
    expect(planned.ok && planned.plan.steps.map((s) => stepLine(s, source))).toEqual([['qemu-img', 'check', '-r', 'leaks', '-f', 'qcow2', '--', state]]);
    expect(planned.ok && planned.plan.pointOfNoReturn).toBe(0);
    const written = (await stat(state)).mtimeMs;
    const after = await apply({ op: 'repair', domain: vm, path: state, mode: 'leaks' });
    await expectSameViews(after, views);
    // Freeing leaks is no write the guest can see: the file keeps its time of last write.
    expect(Math.abs((await stat(state)).mtimeMs - written)).toBeLessThan(1);
    const [healed] = await engine.check(source, vm);
    expect(healed?.healthy).toBe(true);
    expectStarts(vm);
  });

  test('a corrupted tip is repaired after a copy of it is kept in the trash', async () => {
    const vm = await build('corrupt', ['vda'], ['s1']);
    const tip = diskSource(vm, 'vda');
    corruptRefcounts(tip);
    const [sick] = await engine.check(source, vm);
    expect(sick?.layers.find((l) => l.path === tip)?.corruptions).toBeGreaterThan(0);
    const damaged = await checksums([tip]);
    const planned = await engine.plan(source, { op: 'repair', domain: vm, path: tip, mode: 'all' });
    expect(planned.ok && planned.plan.steps.map((s) => s.kind)).toEqual(['keep-copy', 'repair']);
    await apply({ op: 'repair', domain: vm, path: tip, mode: 'all' });
    const [healed] = await engine.check(source, vm);
    expect(healed?.healthy).toBe(true);
    const [kept] = await engine.trash(source, vm);
    expect(kept?.original).toBe(tip);
    expect(Object.values(await checksums([kept?.trashed as string]))).toEqual(Object.values(damaged));
    expectStarts(vm);
  });

  test('refused for a file outside the domain and while the domain runs', async () => {
    const vm = await build('repair-refused', ['vda'], []);
    const outside = await engine.plan(source, { op: 'repair', domain: vm, path: lab.path('nowhere.qcow2'), mode: 'leaks' });
    expect(outside.ok ? 'planned' : outside.refusal.code).toBe('E_NOT_FOUND');
    virshSync(['start', vm]);
    try {
      const running = await engine.plan(source, { op: 'repair', domain: vm, path: diskSource(vm, 'vda'), mode: 'leaks' });
      expect(running.ok ? 'planned' : running.refusal.code).toBe('E_DOMAIN_RUNNING');
    } finally {
      virshSync(['destroy', vm]);
    }
  });
});
