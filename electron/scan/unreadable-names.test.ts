import { createHash } from 'node:crypto';
import { renameSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { formatTree } from '../../shared/format-tree';
import type { Problem, ScanResult, Source } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { TestLab, TEST_URI } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
let lab: TestLab;
let engine: Engine;

const sum = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');
const problemsOf = (scan: ScanResult): Problem[] => [...scan.problems, ...scan.domains.flatMap((d) => d.problems)];

/** Makes an overlay of `backing` in `dir` under a raw byte name that is not valid UTF-8. */
async function hiddenOverlay(dir: string, backing: string, rawName: Buffer): Promise<void> {
  const made = join(dir, 'made-for-renaming.qcow2');
  await qemuImgCreate(made, { backing: { path: backing, format: 'qcow2' } });
  await writePattern(made, 'qcow2', 0x33, 0, MiB);
  renameSync(made, Buffer.concat([Buffer.from(`${dir}/`), rawName]));
}

/** Plans each intent and runs what comes back; returns the refusals. */
async function attempt(source: Source, intents: Intent[]): Promise<string[]> {
  const refusals: string[] = [];
  for (const intent of intents) {
    const result = await engine.plan(source, intent);
    if (result.ok) await engine.apply(result.plan).catch(() => undefined);
    else refusals.push(result.refusal.message);
  }
  return refusals;
}

beforeEach(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});
afterEach(async () => {
  await engine.close();
  await lab.cleanup();
});

describe('files a scan cannot read are reported, and what they may depend on is never written', () => {
  test('overlays named with bytes that are not UTF-8 are reported with escapes; commit, delete and repair in the folder are refused; base.qcow2 stays byte-identical', async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    const f = (name: string) => join(folder, name);
    await qemuImgCreate(f('base.qcow2'), { size: 16 * MiB });
    await writePattern(f('base.qcow2'), 'qcow2', 0x11, 0, MiB);
    await hiddenOverlay(folder, f('base.qcow2'), Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0xfe]), Buffer.from('utf8.qcow2')]));
    await hiddenOverlay(folder, f('base.qcow2'), Buffer.concat([Buffer.from([0x9b]), Buffer.from('.qcow2')]));
    await qemuImgCreate(f('good.qcow2'), { backing: { path: f('base.qcow2'), format: 'qcow2' } });
    await writePattern(f('good.qcow2'), 'qcow2', 0x22, MiB, MiB);
    const before = await sum(f('base.qcow2'));
    const source: Source = { kind: 'folder', path: folder };

    const scan = await engine.scan(source);
    const named = problemsOf(scan).filter((p) => p.code === 'unreadable-name');
    expect(named).toHaveLength(1);
    expect(named[0]).toMatchObject({ path: folder });
    expect(named[0]?.message).toContain('bad\\xff\\xfeutf8.qcow2');
    expect(named[0]?.message).toContain('\\x9b.qcow2');
    expect(formatTree(scan)).toContain('bad\\xff\\xfeutf8.qcow2');

    const refusals = await attempt(source, [
      { op: 'commit', domain: 'base.qcow2', branch: 'good.qcow2' },
      { op: 'delete-branch', domain: 'base.qcow2', branch: 'good.qcow2' },
      { op: 'repair', domain: 'base.qcow2', path: f('base.qcow2'), mode: 'leaks' },
    ]);
    expect(refusals).toHaveLength(3);
    for (const message of refusals) expect(message).toMatch(/not valid UTF-8.*rename it, then try again/);
    expect(await sum(f('base.qcow2'))).toBe(before);
    expect(await sum(f('good.qcow2'))).toBeTruthy();
  });

  test('a .qcow2 whose header is cut short, and an empty one, are reported; the folder is frozen for writes likewise', async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    const f = (name: string) => join(folder, name);
    await qemuImgCreate(f('base.qcow2'), { size: 16 * MiB });
    await qemuImgCreate(f('top.qcow2'), { backing: { path: f('base.qcow2'), format: 'qcow2' } });
    // An overlay of base.qcow2 copied in cut off after 64 bytes: the magic is there, the header is not.
    await qemuImgCreate(lab.path('whole.qcow2'), { backing: { path: f('base.qcow2'), format: 'qcow2' } });
    await writeFile(f('cut.qcow2'), (await readFile(lab.path('whole.qcow2'))).subarray(0, 64));
    await writeFile(f('empty.qcow2'), '');
    await writeFile(f('notes.txt'), 'not an image, and not named like one');
    const before = await sum(f('base.qcow2'));
    const source: Source = { kind: 'folder', path: folder };

    const scan = await engine.scan(source);
    const unreadable = problemsOf(scan).filter((p) => p.code === 'unreadable-file');
    expect(unreadable.map((p) => p.path).sort()).toEqual([f('cut.qcow2'), f('empty.qcow2')]);
    expect(unreadable.find((p) => p.path === f('cut.qcow2'))?.message).toMatch(/starts like a qcow2 image/);
    expect(formatTree(scan)).toContain(f('cut.qcow2'));

    const refusals = await attempt(source, [
      { op: 'commit', domain: 'base.qcow2', branch: 'top.qcow2' },
      { op: 'delete-branch', domain: 'base.qcow2', branch: 'top.qcow2' },
    ]);
    expect(refusals).toHaveLength(2);
    for (const message of refusals) expect(message).toMatch(/cannot be read as an image.*move it away, then try again/);
    expect(await sum(f('base.qcow2'))).toBe(before);
  });

  test('a libvirt domain whose chain directory holds an overlay with a name that is not UTF-8 reports it; delete-snapshot, commit and repair are refused; its layers stay byte-identical', async () => {
    await qemuImgCreate(lab.path('vm-base.qcow2'), { size: 16 * MiB });
    await qemuImgCreate(lab.path('vm.qcow2'), { backing: { path: lab.path('vm-base.qcow2'), format: 'qcow2' } });
    await writePattern(lab.path('vm.qcow2'), 'qcow2', 0x44, 0, MiB);
    const vm = await lab.define({ name: 'badname', disks: [{ target: 'vda', file: lab.path('vm.qcow2'), format: 'qcow2' }] });
    lab.snapshot(vm, 's1');
    await writePattern(lab.path('vm.s1'), 'qcow2', 0x45, MiB, MiB);
    // A domain with no snapshot, whose base a hidden overlay also grows from.
    await qemuImgCreate(lab.path('vm2-base.qcow2'), { size: 16 * MiB });
    await qemuImgCreate(lab.path('vm2.qcow2'), { backing: { path: lab.path('vm2-base.qcow2'), format: 'qcow2' } });
    await writePattern(lab.path('vm2.qcow2'), 'qcow2', 0x46, 0, MiB);
    const vm2 = await lab.define({ name: 'badname2', disks: [{ target: 'vda', file: lab.path('vm2.qcow2'), format: 'qcow2' }] });
    // Loose tips nobody records, on the saved state of s1 and on vm2's base, under names that are not UTF-8.
    await hiddenOverlay(lab.dir, lab.path('vm.qcow2'), Buffer.concat([Buffer.from('loose-'), Buffer.from([0xc3, 0x28]), Buffer.from('.qcow2')]));
    await hiddenOverlay(lab.dir, lab.path('vm2-base.qcow2'), Buffer.concat([Buffer.from('loose2-'), Buffer.from([0xff]), Buffer.from('.qcow2')]));
    const files = ['vm-base.qcow2', 'vm.qcow2', 'vm.s1', 'vm2-base.qcow2', 'vm2.qcow2'].map((n) => lab.path(n));
    const before = await Promise.all(files.map(sum));
    const source: Source = { kind: 'libvirt', uri: TEST_URI };

    for (const name of [vm, vm2]) {
      const domain = await engine.scanDomain(source, name);
      const named = domain.problems.find((p) => p.code === 'unreadable-name');
      expect(named).toMatchObject({ path: lab.dir, domain: name });
      expect(named?.message).toContain('loose-\\xc3(.qcow2');
      expect(named?.message).toContain('loose2-\\xff.qcow2');
    }
    const refusals = await attempt(source, [
      { op: 'delete-snapshot', domain: vm, snapshot: 's1' },
      { op: 'commit', domain: vm2, branch: 'main' },
      { op: 'repair', domain: vm, path: lab.path('vm.qcow2'), mode: 'leaks' },
    ]);
    expect(refusals).toHaveLength(3);
    for (const message of refusals) expect(message).toMatch(/not valid UTF-8.*rename it, then try again/);
    expect(await Promise.all(files.map(sum))).toEqual(before);
  });
});
