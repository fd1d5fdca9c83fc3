/**
 * Export on real images and a real libvirt domain, through the engine: each disk of a node becomes one standalone
 * image of the format asked for, reading exactly the node's bytes; nothing of the domain changes; an export over a
 * file that exists is refused and leaves that file as it was; killed at any step, it leaves no part of a file behind.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { NodeRef } from '../../shared/ops/plan';
import { stepLine } from '../../shared/ops/step-command';
import { Engine } from '../engine';
import { checksums } from '../test-support/checks';
import { applyOk, backingChain, expectUnchanged, fingerprintOf, planOk, sameBytes, stoppedWith } from '../test-support/clone-checks';
import { seedTwoDisks } from '../test-support/clone-domains';
import { killPointsOf, runKilled, writeCrashChild } from '../test-support/crash-child';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let vm: string;
let run = 0;

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
  vm = await seedChain(lab, 'h4exp');
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

/** A new empty folder for one export. */
async function newFolder(): Promise<string> {
  const dir = lab.path(`out${++run}`);
  await mkdir(dir);
  return dir;
}

/** The file a node's disk `target` reads through: a snapshot's saved state or a branch's tip, in a fresh scan. */
async function viewOf(domain: string, node: NodeRef, target = 'vda'): Promise<string> {
  const dom = await engine.scanDomain(source, domain);
  const file =
    node.kind === 'snapshot'
      ? dom.snapshots.find((s) => s.name === node.name)?.disks.find((d) => d.target === target)?.stateLayer
      : dom.branches.find((b) => b.name === node.name)?.tips.find((t) => t.target === target)?.file;
  if (file === undefined || file === null) throw new Error(`no file for ${node.name}/${target}`);
  return file;
}

describe('export', () => {
  test.each([
    ['qcow2', false, { kind: 'snapshot', name: 's1' }],
    ['raw', false, { kind: 'snapshot', name: 's2' }],
    ['qcow2', true, { kind: 'branch', name: 'main' }],
  ] as const)('to %s (compress: %s) of %o: the image reads the node, and stands alone', async (format, compress, node) => {
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const dir = await newFolder();
    const plan = await planOk(engine, source, { op: 'export', domain: vm, node, to: dir, format, ...(compress ? { compress: true } : {}) });
    expect(plan.steps.some((s) => s.kind === 'convert' && s.format === format && s.compress === compress)).toBe(true);
    await applyOk(engine, plan);

    const files = (await readdir(dir)).map((n) => join(dir, n));
    expect(files).toHaveLength(1);
    const out = files[0] ?? '';
    const chain = backingChain(out);
    expect(chain.map((c) => [c.format, c.backing])).toEqual([[format, null]]);
    expect(await sameBytes({ path: out, format }, { path: await viewOf(vm, node), format: 'qcow2' })).toBe(true);
    await expectUnchanged(before, vm);
  });

  test('each disk of a two-disk domain, as one image each', async () => {
    const two = await seedTwoDisks(lab, 'h4exp2');
    const dir = await newFolder();
    await applyOk(engine, await planOk(engine, source, { op: 'export', domain: two, node: { kind: 'snapshot', name: 's1' }, to: dir, format: 'raw' }));
    const files = (await readdir(dir)).map((n) => join(dir, n)).sort();
    expect(files).toHaveLength(2);
    const views = [await viewOf(two, { kind: 'snapshot', name: 's1' }, 'vda'), await viewOf(two, { kind: 'snapshot', name: 's1' }, 'vdb')];
    // Each export matches exactly one disk's saved state, and the two are not the same disk.
    const matches = await Promise.all(files.map(async (f) => Promise.all(views.map((v) => sameBytes({ path: f, format: 'raw' }, { path: v, format: 'qcow2' })))));
    expect(matches.map((m) => m.filter(Boolean).length)).toEqual([1, 1]);
    expect(matches[0]?.indexOf(true)).not.toBe(matches[1]?.indexOf(true));
  });

  test('refused over a file that exists, which keeps its bytes', async () => {
    const dir = await newFolder();
    const node = { kind: 'snapshot', name: 's1' } as const;
    await applyOk(engine, await planOk(engine, source, { op: 'export', domain: vm, node, to: dir, format: 'qcow2' }));
    const [name] = await readdir(dir);
    const existing = join(dir, name ?? '');
    // Something else at the export's name now: not even an image.
    await writeFile(existing, 'a file someone keeps\n');
    const kept = await checksums([existing]);
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    expect(await stoppedWith(engine, source, { op: 'export', domain: vm, node, to: dir, format: 'qcow2' })).toContain(name ?? '?');
    expect(await checksums([existing])).toEqual(kept);
    expect(await readdir(dir)).toEqual([name]);
    await expectUnchanged(before, vm);
  });

  test('written past the page cache (-t none); on a file system that takes no O_DIRECT (ramfs), through it, whole', async () => {
    const node = { kind: 'snapshot', name: 's2' } as const;
    const dir = await newFolder();
    await execa('mount', ['-t', 'ramfs', '-o', 'mode=0755', 'ramfs', dir]);
    try {
      const plan = await planOk(engine, source, { op: 'export', domain: vm, node, to: dir, format: 'qcow2' });
      const line = plan.steps.flatMap((s) => (s.kind === 'convert' ? [stepLine(s, source)] : []));
      expect(line).toEqual([expect.arrayContaining(['qemu-img', 'convert', '-t', 'none'])]);
      // qemu-img's own verdict on this folder: it cannot open a file there for O_DIRECT.
      const probe = await execa('qemu-img', ['convert', '-t', 'none', '-f', 'qcow2', '-O', 'qcow2', '--', await viewOf(vm, node), join(dir, 'probe.qcow2')], { reject: false });
      expect(probe.stderr).toContain('does not support O_DIRECT');
      await rm(join(dir, 'probe.qcow2'));

      await applyOk(engine, plan);
      const files = (await readdir(dir)).map((n) => join(dir, n));
      expect(files).toHaveLength(1);
      expect(await sameBytes({ path: files[0] ?? '', format: 'qcow2' }, { path: await viewOf(vm, node), format: 'qcow2' })).toBe(true);
      expect((await stat(files[0] ?? '')).mode & 0o777).toBe(0o600);
    } finally {
      await execa('umount', [dir]);
    }
  });

  test('refused into a folder that does not exist', async () => {
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const stopped = await stoppedWith(engine, source, { op: 'export', domain: vm, node: { kind: 'snapshot', name: 's1' }, to: lab.path('no-such-folder'), format: 'qcow2' });
    expect(stopped).toMatch(/no-such-folder|not exist|no folder/i);
    await expectUnchanged(before, vm);
  });
});

describe('export killed at every step, then recovered', () => {
  test('ends with no file in the folder (not even a part of one), or the whole image; the domain as it was', async () => {
    const child = await writeCrashChild(lab);
    const node = { kind: 'snapshot', name: 's1' } as const;
    const probe = await planOk(engine, source, { op: 'export', domain: vm, node, to: lab.dir, format: 'qcow2' });
    for (const point of killPointsOf(probe.steps.length)) {
      const before = await fingerprintOf(await engine.scanDomain(source, vm));
      const dir = await newFolder();
      const killed = runKilled(child, { op: 'export', domain: vm, node, to: dir, format: 'qcow2' }, point);
      expect(killed.signal, `killed at ${point}\n${killed.stderr}`).toBe('SIGKILL');
      const reports = await engine.recover();
      expect(reports.map((r) => r.outcome), `${point}: ${reports.map((r) => r.message).join(' ')}`).toEqual([expect.stringMatching(/finished|rolled-back/)]);
      const left = await readdir(dir);
      if (reports[0]?.outcome === 'rolled-back') expect(left, `after ${point}`).toEqual([]);
      else {
        expect(left, `after ${point}`).toHaveLength(1);
        expect(await sameBytes({ path: join(dir, left[0] ?? ''), format: 'qcow2' }, { path: await viewOf(vm, node), format: 'qcow2' })).toBe(true);
      }
      await expectUnchanged(before, vm);
    }
  });
});
