/**
 * Fold-commit on real images and a real domain (docs/safety.md, rules 1–4): the current tip folded into the last
 * snapshot's saved state, which is deleted; every other snapshot reads the same bytes, the records stay true, the
 * domain starts, the old tip is in the trash; and a fold into a file other branches build on is refused.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { applyChecked, backingOf, diskSource, expectSameViews, expectSnapshotRecordsTrue, expectStarts, exportViews } from '../test-support/checks';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let run = 0;

/** base → s1 → s2, data in every layer and in the tip. */
const seed = (): Promise<string> => seedChain(lab, `fold${++run}`);

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  await mkdir(lab.path('views'));
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('fold-commit', () => {
  test('folds the current tip into s2\u2019s saved state and deletes s2; s1 and the branch read the same', async () => {
    const vm = await seed();
    const before = await engine.scanDomain(source, vm);
    const s2 = before.snapshots.find((s) => s.name === 's2');
    const state = s2?.disks[0]?.stateLayer;
    const tip = diskSource(vm, 'vda');
    expect(state).toBeTruthy();
    const views = exportViews(before, join(lab.path('views'), vm));
    const after = await applyChecked(engine, source, { op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's2' });
    expect(diskSource(vm, 'vda')).toBe(state);
    expect(after.snapshots.map((s) => s.name)).toEqual(['s1']);
    expect(virshSync(['snapshot-current', '--domain', vm, '--name']).trim()).toBe('s1');
    expect(backingOf(state ?? '')).toBe(before.snapshots.find((s) => s.name === 's1')?.disks[0]?.stateLayer);
    // The old tip went to the trash, not away.
    expect((await engine.trash(source, vm)).map((e) => e.original)).toContain(tip);
    await expectSameViews(after, views, ['s:s2']);
    expectSnapshotRecordsTrue(vm);
    expectStarts(vm);
  });

  test('a fold into a file another branch builds on is refused, naming it', async () => {
    const vm = await seed();
    const revert = await engine.plan(source, { op: 'revert-branch', domain: vm, snapshot: 's2', branch: 'other' });
    if (!revert.ok) throw new Error(revert.refusal.message);
    await engine.apply(revert.plan);
    const plan = await engine.plan(source, { op: 'fold-commit', domain: vm, branch: 'other', snapshot: 's2' });
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.refusal.code).toBe('E_SHARED_BACKING');
    expect(plan.refusal.message).toMatch(/built on it|tip of branch main/);
  });
});
