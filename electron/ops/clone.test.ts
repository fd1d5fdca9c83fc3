/**
 * Clone on real images and real libvirt domains, through the engine (plan + journaled apply): a linked clone reads
 * exactly its node's bytes and builds on the source's files without ever writing them (docs/safety.md, rules 1–2),
 * the source's commit and delete plan around it or refuse naming it; a full clone stands alone; a branch's tip is
 * frozen first, and a kill -9 at any step of that ends, after recovery, as before or finished; every managed disk
 * is cloned and CD-ROMs and unmanaged disks are carried as they are.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cloneUsers } from '../../shared/clones';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { writePattern } from '../tools/qemu-io';
import { backingOf, checksums, diskSource, expectSnapshotRecordsTrue, expectStarts } from '../test-support/checks';
import { applyOk, backingChain, definitionOf, expectUnchanged, fingerprintOf, planOk, rawView, sameBytes, uuidOf } from '../test-support/clone-checks';
import { domainExists, LAB_MAC, macsOf, seedSharedDisk, seedTwoDisks } from '../test-support/clone-domains';
import { CHILD_SCRIPT, killPointsOf, runKilled, writeCrashChild } from '../test-support/crash-child';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
const MiB = 1024 * 1024;
let lab: TestLab;
let engine: Engine;

/** A name for a clone of this run, taken into the lab's cleanup before anything defines it. */
function cloneName(tag: string): string {
  const name = `${lab.prefix}h4-${tag}`;
  lab.adopt(name);
  return name;
}

/** The state layer of `snapshot`'s disk `target` in a fresh scan. */
async function stateOf(vm: string, snapshot: string, target = 'vda'): Promise<string> {
  const dom = await engine.scanDomain(source, vm);
  const state = dom.snapshots.find((s) => s.name === snapshot)?.disks.find((d) => d.target === target)?.stateLayer;
  if (state === undefined || state === null) throw new Error(`no state layer for ${snapshot}/${target}`);
  return state;
}

/** The clones the source's graph says use node `id` ("used by clone …"), from a scan of the whole host. */
async function usersOf(vm: string, id: string): Promise<string[]> {
  const scan = await engine.scan(source);
  const domain = scan.domains.find((d) => d.name === vm);
  if (domain === undefined) throw new Error(`${vm} is not in the scan`);
  return cloneUsers(scan, domain).get(id) ?? [];
}

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

describe('linked clone from a snapshot', () => {
  test('defines and starts, reads the snapshot, leaves the source alone, and the source plans around it', async () => {
    const vm = await seedChain(lab, 'h4lnk');
    const state = await stateOf(vm, 's2');
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const clone = cloneName('lnk');
    const plan = await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's2' }, name: clone, mode: 'linked' });
    await applyOk(engine, plan);

    // A domain of its own on a new overlay of s2's saved state, with no snapshots.
    expect(domainExists(clone)).toBe(true);
    expect(uuidOf(clone)).not.toBe(uuidOf(vm));
    const disk = diskSource(clone, 'vda');
    expect(Object.keys(before.files)).not.toContain(disk);
    expect(backingOf(disk)).toBe(state);
    expect(virshSync(['snapshot-list', '--domain', clone, '--name']).trim()).toBe('');
    expect((await engine.scanDomain(source, clone)).cloneOf).toEqual({ domain: vm, node: { kind: 'snapshot', name: 's2' }, operation: plan.id });
    expectStarts(clone);
    expect(await sameBytes({ path: disk, format: 'qcow2' }, { path: state, format: 'qcow2' })).toBe(true);
    await expectUnchanged(before, vm);
    expect(await usersOf(vm, 's:s2')).toEqual([clone]);

    // Writes in the clone (shut off) stay in the clone.
    await writePattern(disk, 'qcow2', 0xab, 0, MiB);
    expect(await sameBytes({ path: disk, format: 'qcow2' }, { path: state, format: 'qcow2' })).toBe(false);
    await expectUnchanged(before, vm);

    // The source's graph knows it: a fold of the tip into s2's saved state would change the clone's backing.
    const fold = await engine.plan(source, { op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's2' });
    expect(fold.ok ? 'planned' : fold.refusal.message).toContain(clone);
    await expectUnchanged(before, vm);

    // Deleting s2 keeps what the clone reads (planned around it, or refused naming it).
    const cloneView = rawView(disk, lab.path('views/lnk-clone.raw'));
    const del = await engine.plan(source, { op: 'delete-snapshot', domain: vm, snapshot: 's2' });
    if (del.ok) await applyOk(engine, del.plan);
    else expect(del.refusal.message).toContain(clone);
    const after = diskSource(clone, 'vda');
    expect(backingOf(after)).toBe(state);
    expect(await sameBytes({ path: cloneView, format: 'raw' }, { path: after, format: 'qcow2' })).toBe(true);
    expectStarts(clone);
    expectStarts(vm);
  });
});

describe('linked clone from a branch', () => {
  test("freezes the tip first: the source goes on in a new file, the clone builds on the frozen one", async () => {
    const vm = await seedChain(lab, 'h4br');
    const tip = diskSource(vm, 'vda');
    const tipView = rawView(tip, lab.path('views/br-tip.raw'));
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const clone = cloneName('br');
    const plan = await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'branch', name: 'main' }, name: clone, mode: 'linked' });
    expect([...plan.steps.map((s) => s.sentence), ...plan.warnings].join('\n')).toMatch(/free[zs]|frozen/i);
    await applyOk(engine, plan);

    const newTip = diskSource(vm, 'vda');
    const cloneDisk = diskSource(clone, 'vda');
    expect(newTip).not.toBe(tip);
    expect(backingOf(newTip)).toBe(tip);
    expect(backingOf(cloneDisk)).toBe(tip);
    // The frozen tip was not written; the source's branch and the clone both read what the tip held.
    expect(await checksums(Object.keys(before.files))).toEqual(before.files);
    expect(await sameBytes({ path: tipView, format: 'raw' }, { path: newTip, format: 'qcow2' })).toBe(true);
    expect(await sameBytes({ path: tipView, format: 'raw' }, { path: cloneDisk, format: 'qcow2' })).toBe(true);
    const scanned = await engine.scanDomain(source, vm);
    expect(scanned.branches.find((b) => b.name === 'main')?.tips.map((t) => t.file)).toEqual([newTip]);
    expect(scanned.snapshots.map((s) => s.name)).toEqual(['s1', 's2']);
    expect(await usersOf(vm, 'b:main')).toEqual([clone]);
    expectStarts(vm);
    expectStarts(clone);
  });
});

describe('full clone from a snapshot', () => {
  test('stands alone: no backing file, and the source snapshot can then be deleted', async () => {
    const vm = await seedChain(lab, 'h4full');
    const state = await stateOf(vm, 's1');
    const stateView = rawView(state, lab.path('views/full-s1.raw'));
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const clone = cloneName('full');
    const plan = await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name: clone, mode: 'full' });
    expect(plan.steps.some((s) => s.kind === 'convert')).toBe(true);
    await applyOk(engine, plan);

    const disk = diskSource(clone, 'vda');
    const chain = backingChain(disk);
    expect(chain).toHaveLength(1);
    expect(chain[0]?.backing).toBeNull();
    expect(await sameBytes({ path: stateView, format: 'raw' }, { path: disk, format: chain[0]?.format ?? 'qcow2' })).toBe(true);
    await expectUnchanged(before, vm);
    expectStarts(clone);

    // The source's s1 goes; the clone reads the same.
    await applyOk(engine, await planOk(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's1' }));
    expect(virshSync(['snapshot-list', '--domain', vm, '--name'])).not.toMatch(/\bs1\b/);
    expect(await sameBytes({ path: stateView, format: 'raw' }, { path: diskSource(clone, 'vda'), format: chain[0]?.format ?? 'qcow2' })).toBe(true);
    expectStarts(clone);
  });
});

describe('a domain with two disks, a CD-ROM and a network card', () => {
  test('both disks are cloned from the snapshot, the CD-ROM is carried as it is, the clone has its own MAC', async () => {
    const vm = await seedTwoDisks(lab, 'h4two');
    const states = { vda: await stateOf(vm, 's1', 'vda'), vdb: await stateOf(vm, 's1', 'vdb') };
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const clone = cloneName('two');
    await applyOk(engine, await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name: clone, mode: 'linked' }));

    for (const target of ['vda', 'vdb'] as const) {
      const disk = diskSource(clone, target);
      expect(backingOf(disk), target).toBe(states[target]);
      expect(await sameBytes({ path: disk, format: 'qcow2' }, { path: states[target], format: 'qcow2' }), target).toBe(true);
    }
    // The two disks' files are not the same file, nor anything of the source's.
    expect(diskSource(clone, 'vda')).not.toBe(diskSource(clone, 'vdb'));
    // Its own identity: a new UUID, and a new MAC address on its network card.
    expect(uuidOf(clone)).not.toBe(uuidOf(vm));
    expect(macsOf(vm)).toEqual([LAB_MAC]);
    const [mac] = macsOf(clone);
    expect(mac).toMatch(/^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(mac).not.toBe(LAB_MAC);
    const cdrom = /<disk type='file' device='cdrom'>[\s\S]*?<\/disk>/.exec(definitionOf(clone))?.[0] ?? '';
    expect(cdrom).toContain("<target dev='hdc' bus='ide'/>");
    expect(cdrom).toContain('<readonly/>');
    await expectUnchanged(before, vm);
    expectStarts(clone);
  });
});

describe('an unmanaged writable disk', () => {
  test('the plan warns that both domains would write it; the disk is carried as it is', async () => {
    const { vm, shared } = await seedSharedDisk(lab, 'h4shr');
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const clone = cloneName('shr');
    const plan = await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name: clone, mode: 'linked' });
    const warning = plan.warnings.find((w) => w.includes('vdb'));
    expect(warning, plan.warnings.join('\n')).toMatch(/both write/);
    expect(warning).toContain(shared);
    await applyOk(engine, plan);
    expect(diskSource(clone, 'vdb')).toBe(shared);
    expect(existsSync(shared)).toBe(true);
    await expectUnchanged(before, vm);
  });
});

describe('linked clone from a branch, killed at every step, then recovered', () => {
  test.each([false, true])('start: %s — ends as before (the source on its tip, no clone, no new file) or finished (the tip frozen, the clone on it)', async (start) => {
    const child = await writeCrashChild(lab);
    const tag = start ? 'ks' : 'k';
    const intentOf = (vm: string, name: string): Intent => ({ op: 'clone', domain: vm, node: { kind: 'branch', name: 'main' }, name, mode: 'linked', ...(start ? { start: true } : {}) });
    const probe = await planOk(engine, source, intentOf(await seedChain(lab, `h4${tag}probe`, ['s1']), cloneName(`${tag}probe`)));
    const points = killPointsOf(probe.steps.length);
    const outcomes: string[] = [];
    for (const [i, point] of points.entries()) {
      const vm = await seedChain(lab, `h4${tag}${i}`, ['s1']);
      const tip = diskSource(vm, 'vda');
      const tipView = rawView(tip, lab.path(`views/${tag}${i}-tip.raw`));
      const before = await fingerprintOf(await engine.scanDomain(source, vm));
      const files = await labFiles();
      const clone = cloneName(`${tag}${i}`);
      const killed = runKilled(child, intentOf(vm, clone), point);
      expect(killed.signal, `killed at ${point}\n${killed.stderr}`).toBe('SIGKILL');

      const reports = await engine.recover();
      expect(reports.map((r) => r.outcome), `${point}: ${reports.map((r) => r.message).join(' ')}`).toEqual([expect.stringMatching(/finished|rolled-back/)]);
      outcomes.push(`${point} ${reports[0]?.outcome ?? ''}`);
      // No file of the source was written, whichever way it ended.
      expect(await checksums(Object.keys(before.files)), `after ${point}`).toEqual(before.files);
      if (reports[0]?.outcome === 'rolled-back') {
        await expectUnchanged(before, vm);
        expect(domainExists(clone), `no clone after ${point}`).toBe(false);
        expect(await labFiles(), `no new file after ${point}`).toEqual(files);
      } else {
        // Finished: the clone was started, as asked.
        expect(virshSync(['domstate', '--domain', clone]).trim(), `after ${point}`).toBe('running');
        virshSync(['destroy', '--domain', clone]);
        const newTip = diskSource(vm, 'vda');
        expect(backingOf(newTip), `after ${point}`).toBe(tip);
        expect(backingOf(diskSource(clone, 'vda')), `after ${point}`).toBe(tip);
        expect(await sameBytes({ path: tipView, format: 'raw' }, { path: newTip, format: 'qcow2' })).toBe(true);
        expect(await sameBytes({ path: tipView, format: 'raw' }, { path: diskSource(clone, 'vda'), format: 'qcow2' })).toBe(true);
        expectStarts(clone);
      }
      expectSnapshotRecordsTrue(vm);
      expectStarts(vm);
    }
    // Only a clone that already runs on its new disks is finished (the start ran); any other is rolled back.
    const last = probe.steps.length - 1;
    expect(outcomes.filter((o) => o.endsWith('finished')), outcomes.join('\n')).toEqual(start ? [`${last}:ran finished`, `${last}:done finished`] : []);
    // A dozen kill points, each a new domain, a child process, a recovery and two boots: minutes on a busy host.
  }, 600_000);
});

/** The lab folder's entries, leaving out the engine's data folder, the exported views and the child's script. */
async function labFiles(): Promise<string[]> {
  return (await readdir(lab.dir)).filter((f) => f !== 'data' && f !== 'views' && f !== CHILD_SCRIPT).sort();
}
