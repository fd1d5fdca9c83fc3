import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Domain, ScanResult, Source } from '../../shared/model';
import { formatTree } from '../../shared/format-tree';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { TestLab, TEST_URI } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
let lab: TestLab;
let engine: Engine;
/** A root-owned file outside every image folder: what a planted data file name points at. */
let target: string;
let targetSum: string;

const sum = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

/**
 * Makes `path` a qcow2 image whose external data file is `aimAt`, as an attacker who can write the folder does:
 * create it with a data file of a name as long as `aimAt`, then rewrite that name in the header extension.
 */
async function plantDataFile(path: string, aimAt: string): Promise<void> {
  const decoy = join(lab.path('decoy'), 'd'.repeat(aimAt.length - lab.path('decoy').length - 1));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${decoy},data_file_raw=on`, path, '1M']);
  const header = await readFile(path);
  const at = header.indexOf(Buffer.from(decoy));
  expect(at).toBeGreaterThan(0);
  const file = await open(path, 'r+');
  try {
    await file.write(Buffer.from(aimAt), 0, aimAt.length, at);
  } finally {
    await file.close();
  }
}

/** Plans each intent; a plan that comes back runs, so that the target's bytes prove what would have happened. */
async function attempt(source: Source, intents: Intent[]): Promise<string[]> {
  const refusals: string[] = [];
  for (const intent of intents) {
    const result = await engine.plan(source, intent);
    if (result.ok) await engine.apply(result.plan).catch(() => undefined);
    else refusals.push(result.refusal.message);
    expect(await sum(target)).toBe(targetSum);
  }
  return refusals;
}

const warningsOf = (scan: ScanResult) => [...scan.problems, ...scan.domains.flatMap((d) => d.problems)].filter((p) => p.code === 'external-data-file');

beforeEach(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  await mkdir(lab.path('decoy'));
  await mkdir(lab.path('elsewhere'));
  target = lab.path('elsewhere/root-owned-target');
  await writeFile(target, Buffer.alloc(MiB, 0x5a), { mode: 0o600 });
  targetSum = await sum(target);
  engine = new Engine({ host: 'serve' });
});
afterEach(async () => {
  await engine.close();
  await lab.cleanup();
});

describe('an image with an external data file is shown, never written, moved, deleted or opened', () => {
  test('in a folder: the tree warns and names the data file; commit, delete, rebase and repair plans and check and compare are refused; the file it names stays byte-identical', async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    const f = (name: string) => join(folder, name);
    await plantDataFile(f('base.qcow2'), target);
    await qemuImgCreate(f('top.qcow2'), { backing: { path: f('base.qcow2'), format: 'qcow2' } });
    // The attacker's payload, in the top layer: a commit would carry it into the data file.
    await writePattern(f('top.qcow2'), 'qcow2', 0x41, 0, 4096);
    // A longer chain beside it: a commit that only reads the data-file layer is refused as well.
    await plantDataFile(f('low.qcow2'), target);
    await qemuImgCreate(f('mid.qcow2'), { backing: { path: f('low.qcow2'), format: 'qcow2' } });
    await qemuImgCreate(f('high.qcow2'), { backing: { path: f('mid.qcow2'), format: 'qcow2' } });
    expect(await sum(target)).toBe(targetSum);
    const source: Source = { kind: 'folder', path: folder };

    const scan = await engine.scan(source);
    expect(warningsOf(scan).map((p) => p.path).sort()).toEqual([f('base.qcow2'), f('low.qcow2')]);
    const warning = warningsOf(scan).find((p) => p.path === f('base.qcow2'));
    expect(warning).toMatchObject({ severity: 'warning' });
    expect(warning?.message).toContain(target);
    expect(warning?.message).toMatch(/never writes, moves or deletes/);
    expect(formatTree(scan)).toContain(target);

    const domain = 'base.qcow2';
    const refusals = await attempt(source, [
      { op: 'commit', domain, branch: 'top.qcow2' },
      { op: 'commit', domain: 'low.qcow2', branch: 'high.qcow2' },
      { op: 'repair', domain, path: f('base.qcow2'), mode: 'leaks' },
      { op: 'repair', domain, path: f('top.qcow2'), mode: 'all' },
      { op: 'repair', domain: 'low.qcow2', path: f('mid.qcow2'), mode: 'leaks' },
    ]);
    expect(refusals).toHaveLength(5);
    for (const message of refusals) expect(message).toMatch(/external data file/);

    await expect(engine.compare(source, domain, 's:base.qcow2', 'b:top.qcow2')).rejects.toThrow(/external data file.*cannot vouch/);
    const health = await engine.check(source);
    const layers = health.flatMap((h) => h.layers);
    expect(layers).toHaveLength(5);
    for (const layer of layers) expect(layer.findings.join(' ')).toMatch(/Not checked: .*external data file/);
    expect(await sum(target)).toBe(targetSum);
  });

  test('a data file inside the folder is refused too: the image is shown, not deleted, repaired or built on', async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    const f = (name: string) => join(folder, name);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${f('own.data')}`, f('own.qcow2'), '4M']);
    await writePattern(f('own.qcow2'), 'qcow2', 0x22, 0, MiB);
    const before = { image: await sum(f('own.qcow2')), data: await sum(f('own.data')) };
    const source: Source = { kind: 'folder', path: folder };

    const scan = await engine.scan(source);
    expect(warningsOf(scan).map((p) => [p.path, p.message.includes(f('own.data'))])).toEqual([[f('own.qcow2'), true]]);
    const domain = 'own.qcow2';
    const refusals: string[] = [];
    for (const intent of [
      { op: 'delete-branch', domain, branch: 'own.qcow2' },
      { op: 'repair', domain, path: f('own.qcow2'), mode: 'leaks' },
    ] as Intent[]) {
      const result = await engine.plan(source, intent);
      if (result.ok) await engine.apply(result.plan).catch(() => undefined);
      else refusals.push(result.refusal.message);
    }
    expect(refusals).toHaveLength(2);
    for (const message of refusals) expect(message).toMatch(/external data file/);
    expect({ image: await sum(f('own.qcow2')), data: await sum(f('own.data')) }).toEqual(before);
  });

  test('in a libvirt domain whose chain has a data-file layer: the domain warns; snapshot, revert, commit, delete and repair plans, check and compare are refused; the file it names stays byte-identical', async () => {
    const base = lab.path('vm-base.qcow2');
    await plantDataFile(base, target);
    await qemuImgCreate(lab.path('vm.qcow2'), { backing: { path: base, format: 'qcow2' } });
    const vm = await lab.define({ name: 'datafile', disks: [{ target: 'vda', file: lab.path('vm.qcow2'), format: 'qcow2' }] });
    lab.snapshot(vm, 's1');
    // A second domain without snapshots: its current branch could be committed straight into the data-file layer.
    const base2 = lab.path('vm2-base.qcow2');
    await plantDataFile(base2, target);
    await qemuImgCreate(lab.path('vm2.qcow2'), { backing: { path: base2, format: 'qcow2' } });
    await writePattern(lab.path('vm2.qcow2'), 'qcow2', 0x41, 0, 4096);
    const vm2 = await lab.define({ name: 'datafile2', disks: [{ target: 'vda', file: lab.path('vm2.qcow2'), format: 'qcow2' }] });
    const tip = lab.path('vm.s1');
    await writePattern(tip, 'qcow2', 0x41, 0, 4096);
    expect(await sum(target)).toBe(targetSum);
    const source: Source = { kind: 'libvirt', uri: TEST_URI };

    const domain = (await engine.scanDomain(source, vm)) as Domain;
    const warning = domain.problems.find((p) => p.code === 'external-data-file');
    expect(warning).toMatchObject({ path: base, severity: 'warning' });
    expect(warning?.message).toContain(target);

    const refusals = await attempt(source, [
      { op: 'create-snapshot', domain: vm, name: 's2' },
      { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'again' },
      { op: 'commit', domain: vm2, branch: 'main' },
      { op: 'delete-snapshot', domain: vm, snapshot: 's1' },
      { op: 'repair', domain: vm, path: tip, mode: 'all' },
      { op: 'repair', domain: vm, path: base, mode: 'leaks' },
    ]);
    expect(refusals).toHaveLength(6);
    for (const message of refusals) expect(message).toMatch(/external data file/);
    await expect(engine.compare(source, vm, 's:s1', 'b:main')).rejects.toThrow(/external data file.*cannot vouch/);
    const [health] = await engine.check(source, vm);
    for (const layer of health?.layers ?? []) expect(layer.findings.join(' ')).toMatch(/Not checked: .*external data file/);
    expect(await sum(target)).toBe(targetSum);
  });
});
