/**
 * A file a linked clone builds on is never a writable tip of its source (docs/model.md, "Clones"): once the
 * branch that froze it is deleted, the source's graph does not offer it as a branch to switch to, revert onto or
 * commit, and the delete-branch plan says which file stays for which clone. Real libvirt and qemu-img.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { qemuImgCreate } from '../tools/qemu-img';
import { diskSource } from '../test-support/checks';
import { applyOk, planOk } from '../test-support/clone-checks';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('a branch frozen for a clone, then deleted', () => {
  test('its frozen tip is no branch of the source, and the delete plan names the clone', async () => {
    const vm = await seedChain(lab, 'f1-alpha', ['s1', 's2', 's3']);
    const frozen = diskSource(vm, 'vda');
    // Branch experiment from s1, current; main is left as a branch.
    await applyOk(engine, await planOk(engine, source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'experiment' }));
    const oth = `${lab.prefix}f1-oth`;
    lab.adopt(oth);
    await applyOk(engine, await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'branch', name: 'main' }, name: oth, mode: 'linked' }));
    expect(diskSource(vm, 'vda')).not.toBe(frozen);

    const del = await planOk(engine, source, { op: 'delete-branch', domain: vm, branch: 'main' });
    const said = [...del.steps.map((s) => s.sentence), ...del.warnings].join('\n');
    expect(said).toContain(oth);
    expect(said).toContain('f1-alpha.s3');
    await applyOk(engine, del);

    const scan = await engine.scan(source);
    const alpha = scan.domains.find((d) => d.name === vm);
    expect(alpha?.branches.flatMap((b) => b.tips.map((t) => t.file))).not.toContain(frozen);
    // A rescan of the source alone knows it too.
    expect((await engine.scanDomain(source, vm)).branches.flatMap((b) => b.tips.map((t) => t.file))).not.toContain(frozen);
    for (const branch of alpha?.branches ?? []) {
      if (branch.current) continue;
      const sw = await engine.plan(source, { op: 'switch', domain: vm, branch: branch.name });
      if (sw.ok) expect(sw.plan.steps.map((s) => s.sentence).join('\n')).not.toContain(frozen);
    }
  });
});

describe('a plain domain on a branch tip of another (no clone record)', () => {
  test('the tip is neither switched to nor committed, and stays when its branch is deleted', async () => {
    const vm = await seedChain(lab, 'f1-beta', ['s1', 's2']);
    const tip = diskSource(vm, 'vda');
    await applyOk(engine, await planOk(engine, source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'exp' }));
    const overlay = lab.path('f1-gamma.qcow2');
    await qemuImgCreate(overlay, { backing: { path: tip, format: 'qcow2' } });
    const gamma = await lab.define({ name: 'f1-gamma', disks: [{ target: 'vda', file: overlay, format: 'qcow2' }] });

    const sw = await engine.plan(source, { op: 'switch', domain: vm, branch: 'main' });
    expect(sw.ok ? 'planned' : sw.refusal.message).toContain(gamma);
    const commit = await engine.plan(source, { op: 'commit', domain: vm, branch: 'main' });
    expect(commit.ok ? 'planned' : commit.refusal.message).toContain(gamma);

    const del = await planOk(engine, source, { op: 'delete-branch', domain: vm, branch: 'main' });
    expect(del.warnings.join('\n')).toContain(`f1-beta.s2 stays`);
    expect(del.warnings.join('\n')).toContain(gamma);
    expect(del.impact.trashed).not.toContain(tip);
    await applyOk(engine, del);
    for (const scanned of [(await engine.scan(source)).domains.find((d) => d.name === vm), await engine.scanDomain(source, vm)]) {
      expect(scanned?.branches.flatMap((b) => b.tips.map((t) => t.file))).not.toContain(tip);
    }
  });
});
