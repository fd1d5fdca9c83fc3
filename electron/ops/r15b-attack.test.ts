/**
 * A reviewer's attacks on the copy a full clone or an export writes past the page cache (`qemu-img convert -t
 * none`, steps.ts runConvert), on real images, real libvirt domains and real file systems made for the test (root):
 * an ext4 on a disk of 4096-byte sectors, tmpfs (O_DIRECT since Linux 6.6) and ramfs (none, so through the
 * cache). On each, every kind of copy reads the node's bytes, is private, and is the only file left; on ext4 the
 * copy really goes past the cache, as the preview says, and sources on ramfs are read whole. A copy that runs out
 * of room (past the cache or through it, on one disk or the second of two), or goes into a folder of a read-only
 * file system, fails clearly and leaves nothing behind; one cancelled or killed mid-copy leaves no file, and no
 * qemu-img writing on, once recovered (clone-files.ts removePart).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent, NodeRef } from '../../shared/ops/plan';
import { stepLine } from '../../shared/ops/step-command';
import { Engine } from '../engine';
import { applyOk, expectUnchanged, fingerprintOf, planOk, sameBytes } from '../test-support/clone-checks';
import { writeCrashChild } from '../test-support/crash-child';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';
import { writePattern } from '../tools/qemu-io';
import { makePart, partFileOf, placePart, removePart } from './clone-files';
import { localHostFiles, type HostFiles } from './host-files';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
const MiB = 1024 * 1024;

/** The lab of this file, its domains named `snaptree-r15b-<pid>-…`. */
class AttackLab extends TestLab {
  override readonly prefix = `snaptree-r15b-${process.pid}-`;
}

let lab: AttackLab;
let engine: Engine;
let mounts = '';
let vm: string;
let run = 0;

beforeAll(async () => {
  lab = await new AttackLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
  mounts = await mkdtemp(join(tmpdir(), 'snaptree-r15b-mnt-'));
  vm = await seedChain(lab, 'chain');
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
  if (mounts !== '') await rm(mounts, { recursive: true, force: true });
});

type Fs = 'ext4-4k' | 'tmpfs' | 'ramfs';

/** A loop device over a new sparse file of `mib` MiB, with `sector`-byte logical sectors; gives its path. */
async function loopDevice(backing: string, mib: number, sector = 512): Promise<string> {
  await execa('truncate', ['-s', `${mib}M`, backing]);
  return (await execa('losetup', ['--find', '--show', '--sector-size', String(sector), backing])).stdout.trim();
}

/**
 * Mounts a new file system of kind `fs` (`mib` MiB where it has a size) at a new folder, runs `use` in it, and
 * always unmounts it and frees its loop device. An ext4 loses its lost+found, so only what the test makes is there.
 */
async function withFs<T>(fs: Fs | 'ext4', mib: number, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(mounts, `m${++run}`);
  await mkdir(dir);
  let loop: string | null = null;
  try {
    if (fs === 'ramfs') await execa('mount', ['-t', 'ramfs', '-o', 'mode=0755', 'ramfs', dir]);
    else if (fs === 'tmpfs') await execa('mount', ['-t', 'tmpfs', '-o', `size=${mib}M,mode=0755`, 'tmpfs', dir]);
    else {
      loop = await loopDevice(join(mounts, `loop${run}.img`), mib, fs === 'ext4-4k' ? 4096 : 512);
      await execa('mkfs.ext4', ['-q', loop]);
      await execa('mount', [loop, dir]);
      await rm(join(dir, 'lost+found'), { recursive: true });
    }
    return await use(dir);
  } finally {
    await unmount(dir);
    if (loop !== null) await execa('losetup', ['-d', loop], { reject: false });
  }
}

/** Unmounts `dir`, waiting up to 10 s for a copy that a failed test left running there, then lazily. */
async function unmount(dir: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await execa('umount', [dir], { reject: false })).exitCode === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await execa('umount', ['--lazy', dir], { reject: false });
}

/** The file a node's disk reads through: a snapshot's saved state or a branch's tip, in a fresh scan. */
async function viewOf(domain: string, node: NodeRef): Promise<string> {
  const dom = await engine.scanDomain(source, domain);
  const file =
    node.kind === 'snapshot'
      ? dom.snapshots.find((s) => s.name === node.name)?.disks[0]?.stateLayer
      : dom.branches.find((b) => b.name === node.name)?.tips[0]?.file;
  if (file === undefined || file === null) throw new Error(`no file for ${node.name}`);
  return file;
}

/** What each copy in `dir` is: its format, mode, and whether it reads the node's bytes. */
async function copiesIn(dir: string, format: string, view: string): Promise<Array<{ mode: number; same: boolean }>> {
  const names = await readdir(dir);
  return Promise.all(
    names.map(async (name) => ({
      mode: (await stat(join(dir, name))).mode & 0o7777,
      same: await sameBytes({ path: join(dir, name), format }, { path: view, format: 'qcow2' }),
    })),
  );
}

const copies = [
  ['export qcow2', { format: 'qcow2' }],
  ['export raw', { format: 'raw' }],
  ['export compressed qcow2', { format: 'qcow2', compress: true }],
  ['full clone', { clone: true }],
] as const;

describe('every copy on odd file systems reads the node, is private, and is the only file there', () => {
  for (const fs of ['ext4-4k', 'tmpfs', 'ramfs'] as const) {
    test.each(copies)(`${fs}: %s`, async (label, how) => {
      const node = { kind: 'snapshot', name: 's2' } as const;
      const before = await fingerprintOf(await engine.scanDomain(source, vm));
      await withFs(fs, 96, async (dir) => {
        const name = `${lab.prefix}${fs}-clone`;
        const intent: Intent =
          'clone' in how
            ? { op: 'clone', domain: vm, node, name, mode: 'full', dir }
            : { op: 'export', domain: vm, node, to: dir, format: how.format, ...('compress' in how ? { compress: true } : {}) };
        if ('clone' in how) lab.adopt(name);
        await applyOk(engine, await planOk(engine, source, intent));
        const format = 'format' in how ? how.format : 'qcow2';
        expect(await copiesIn(dir, format, await viewOf(vm, node)), label).toEqual([{ mode: 0o600, same: true }]);
        if ('clone' in how) await execa('virsh', ['-q', '-c', TEST_URI, 'undefine', '--domain', name]);
      });
      await expectUnchanged(before, vm);
    });
  }
});

/** The bytes of `file` the page cache holds, by fincore. */
async function cachedBytes(file: string): Promise<number> {
  return Number((await execa('fincore', ['--bytes', '--noheadings', '--output', 'RES', '--', file])).stdout.trim());
}

describe('the direct path is the one that runs, and the preview says so', () => {
  test('an export and a full clone on ext4 leave (almost) none of their copy in the page cache; the preview shows -t none', async () => {
    const node = { kind: 'snapshot', name: 's2' } as const;
    await withFs('ext4-4k', 96, async (dir) => {
      const name = `${lab.prefix}cache-clone`;
      lab.adopt(name);
      await mkdir(join(dir, 'clone'));
      const exported = await planOk(engine, source, { op: 'export', domain: vm, node, to: dir, format: 'qcow2' });
      const cloned = await planOk(engine, source, { op: 'clone', domain: vm, node, name, mode: 'full', dir: join(dir, 'clone') });
      for (const plan of [exported, cloned]) {
        expect(plan.steps.flatMap((s) => (s.kind === 'convert' ? [stepLine(s, source)] : []))).toEqual([expect.arrayContaining(['-t', 'none'])]);
      }
      await applyOk(engine, exported);
      await applyOk(engine, cloned);
      const copies = [...(await readdir(dir)).filter((n) => n !== 'clone').map((n) => join(dir, n)), ...(await readdir(join(dir, 'clone'))).map((n) => join(dir, 'clone', n))];
      expect(copies).toHaveLength(2);
      for (const file of copies) {
        expect((await stat(file)).size).toBeGreaterThan(4 * MiB);
        // qemu-img writes the new image's first clusters through the cache as it creates it; its data goes past it.
        expect(await cachedBytes(file), file).toBeLessThanOrEqual(256 * 1024);
      }
      await execa('virsh', ['-q', '-c', TEST_URI, 'undefine', '--domain', name]);
    });
  });
});

/**
 * A domain whose snapshot s1 holds `mib` MiB of random data (which no compression shrinks) in a 1 GiB disk: a copy
 * long enough to act on as it runs.
 */
async function seedLarge(id: string, mib: number): Promise<string> {
  const base = lab.path(`${id}.qcow2`);
  const raw = lab.path(`${id}.random`);
  await execa('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${mib}`, 'status=none']);
  await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', '--', raw, base]);
  await execa('qemu-img', ['resize', '-q', '-f', 'qcow2', '--', base, '1G']);
  await rm(raw);
  const dom = await lab.define({ name: id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  lab.snapshot(dom, 's1');
  return dom;
}

/** The ids of the qemu-img processes whose command line names a file in `dir`. */
async function qemuImgsIn(dir: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  const found = await Promise.all(
    pids.map(async (pid) => {
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      return args[0]?.endsWith('qemu-img') === true && args.some((a) => a.startsWith(`${dir}/`)) ? [Number(pid)] : [];
    }),
  );
  return found.flat();
}

/** Waits until the temporary file of a copy into `dir` holds more than `bytes` (its size where it counts no blocks); gives its name. */
async function partGrown(dir: string, bytes: number): Promise<string> {
  for (let i = 0; i < 6000; i++) {
    for (const name of (await readdir(dir)).filter((n) => n.startsWith('.snaptree-part-'))) {
      const info = await stat(join(dir, name)).catch(() => null);
      if (info !== null && (info.blocks > 0 ? info.blocks * 512 : info.size) > bytes) return name;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no temporary file grew past ${bytes} bytes in ${dir}`);
}

/** Takes (nearly) all the free space of `dir`'s file system with files `filler*`, while a copy races for it. */
async function fillUp(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const room = await statfs(dir);
    const bytes = room.bavail * room.bsize - 256 * 1024;
    if (bytes <= 0) return;
    await execa('fallocate', ['-l', String(bytes), join(dir, `filler${i}`)], { reject: false });
  }
}

/** The qemu-img processes still writing in `dir` after up to half a second (a killed one is gone in far less). */
async function gone(dir: string): Promise<number[]> {
  for (let i = 0; i < 10 && (await qemuImgsIn(dir)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return qemuImgsIn(dir);
}

describe('a copy that cannot finish', () => {
  let big: string;
  beforeAll(async () => {
    big = await seedLarge('large', 384);
  });

  test.each([false, true])('the file system fills up mid-copy (compressed, through the cache: %s): the error says so, and no part of a file is left', async (compress) => {
    const before = await fingerprintOf(await engine.scanDomain(source, big));
    await withFs('ext4', 512, async (dir) => {
      const plan = await planOk(engine, source, { op: 'export', domain: big, node: { kind: 'snapshot', name: 's1' }, to: dir, format: 'qcow2', ...(compress ? { compress: true } : {}) });
      const applying = engine.apply(plan).then(
        (r) => r.status,
        (e: unknown) => e,
      );
      await partGrown(dir, 16 * MiB);
      await fillUp(dir);
      const error = await applying;
      expect(error).toMatchObject({ message: expect.stringMatching(/No space left on device/) });
      expect((await readdir(dir)).filter((name) => !name.startsWith('filler'))).toEqual([]);
    });
    await expectUnchanged(before, big);
  });

  test('the second disk of two fills the file system: the first, already in place, goes too', async () => {
    const small = lab.path('two-small.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '--', small, '32M']);
    await writePattern(small, 'qcow2', 0x71, 0, 4 * MiB);
    const large = (await engine.scanDomain(source, big)).snapshots[0]?.disks[0]?.stateLayer ?? '';
    const two = await lab.define({
      name: 'two',
      disks: [
        { target: 'vda', file: small, format: 'qcow2' },
        { target: 'vdb', file: large, format: 'qcow2' },
      ],
    });
    const before = await fingerprintOf(await engine.scanDomain(source, two));
    await withFs('ext4', 512, async (dir) => {
      const plan = await planOk(engine, source, { op: 'export', domain: two, node: { kind: 'branch', name: 'main' }, to: dir, format: 'qcow2' });
      expect(plan.steps.filter((s) => s.kind === 'convert').map((s) => s.kind === 'convert' && s.source)).toEqual([small, large]);
      const applying = engine.apply(plan).then(
        (r) => r.status,
        (e: unknown) => e,
      );
      await partGrown(dir, 16 * MiB);
      await fillUp(dir);
      expect(await applying).toMatchObject({ message: expect.stringMatching(/No space left on device/) });
      expect((await readdir(dir)).filter((name) => !name.startsWith('filler'))).toEqual([]);
    });
    await expectUnchanged(before, two);
  });

  test('a folder on a read-only file system is refused before anything runs, and nothing is left', async () => {
    await withFs('ext4', 64, async (dir) => {
      await execa('mount', ['-o', 'remount,ro', dir]);
      const intent: Intent = { op: 'export', domain: vm, node: { kind: 'snapshot', name: 's1' }, to: dir, format: 'qcow2' };
      const planned = await engine.plan(source, intent);
      const error = planned.ok ? await engine.apply(planned.plan).then((r) => r.status, (e: unknown) => e) : planned.refusal;
      expect(error).toMatchObject({ message: expect.stringMatching(/read-only/) });
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test.each(['ext4-4k', 'ramfs'] as const)('cancelled mid-copy on %s: nothing is left, no qemu-img writes on', async (fs) => {
    await withFs(fs, 1152, async (dir) => {
      const plan = await planOk(engine, source, { op: 'export', domain: big, node: { kind: 'snapshot', name: 's1' }, to: dir, format: 'raw' });
      const controller = new AbortController();
      const applying = engine.apply(plan, { signal: controller.signal }).then(
        (r) => r.status,
        (e: unknown) => e,
      );
      await partGrown(dir, 16 * MiB);
      controller.abort();
      expect(await applying).toMatchObject({ code: 'E_CANCELLED' });
      expect(await readdir(dir)).toEqual([]);
      expect(await gone(dir)).toEqual([]);
    });
  });

  test.each(['ext4-4k', 'ramfs'] as const)('the engine killed mid-copy on %s, then recovered: nothing is left, no qemu-img writes on', async (fs) => {
    const child = await writeCrashChild(lab);
    await withFs(fs, 512, async (dir) => {
      const intent: Intent = { op: 'export', domain: big, node: { kind: 'snapshot', name: 's1' }, to: dir, format: 'qcow2' };
      const proc = spawn(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, SNAPTREE_INTENT: JSON.stringify(intent) }, stdio: 'ignore' });
      const ended = new Promise((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
      const lingering: number[] = [];
      const empty = await statfs(dir);
      try {
        await partGrown(dir, 16 * MiB);
        proc.kill('SIGKILL');
        expect(await ended).toBe('SIGKILL');
        lingering.push(...(await qemuImgsIn(dir)));
        // Held where it is, as a copy of a large disk would still be writing when recovery runs.
        for (const pid of lingering) process.kill(pid, 'SIGSTOP');
        const reports = await engine.recover(big);
        expect(reports.map((r) => r.outcome)).toEqual(['rolled-back']);
        // qemu-img outlives the engine (it ignores the broken pipe of its progress); recovery ends it.
        expect(lingering).toHaveLength(1);
        expect(await readdir(dir)).toEqual([]);
        expect(await gone(dir)).toEqual([]);
        expect((await statfs(dir)).bfree).toBeGreaterThanOrEqual(empty.bfree - 16);
      } finally {
        proc.kill('SIGKILL');
        for (const pid of [...lingering, ...(await qemuImgsIn(dir))]) process.kill(pid, 'SIGKILL');
      }
    });
  });
});

describe('sources on a file system without O_DIRECT', () => {
  test('a raw disk with a qcow2 overlay over it, all on ramfs: its snapshot and its branch export whole onto ext4', async () => {
    await withFs('ramfs', 0, async (images) => {
      const base = join(images, 'raw-base.img');
      await execa('qemu-img', ['create', '-q', '-f', 'raw', '--', base, '32M']);
      await writePattern(base, 'raw', 0x61, 0, 3 * MiB);
      const dom = await lab.define({ name: 'rawsrc', disks: [{ target: 'vda', file: base, format: 'raw' }] });
      try {
        lab.snapshot(dom, 's1');
        const tip = (await engine.scanDomain(source, dom)).branches[0]?.tips[0]?.file ?? '';
        expect(tip.startsWith(`${images}/`)).toBe(true);
        await writePattern(tip, 'qcow2', 0x62, 8 * MiB, MiB);
        const before = await fingerprintOf(await engine.scanDomain(source, dom));
        await withFs('ext4-4k', 96, async (dir) => {
          await applyOk(engine, await planOk(engine, source, { op: 'export', domain: dom, node: { kind: 'snapshot', name: 's1' }, to: dir, format: 'qcow2' }));
          const [one] = await readdir(dir);
          expect(await sameBytes({ path: join(dir, one ?? ''), format: 'qcow2' }, { path: base, format: 'raw' })).toBe(true);
          await rm(join(dir, one ?? ''));
          await applyOk(engine, await planOk(engine, source, { op: 'export', domain: dom, node: { kind: 'branch', name: 'main' }, to: dir, format: 'raw' }));
          const [two] = await readdir(dir);
          expect(await sameBytes({ path: join(dir, two ?? ''), format: 'raw' }, { path: tip, format: 'qcow2' })).toBe(true);
          expect(await readdir(dir)).toHaveLength(1);
        });
        await expectUnchanged(before, dom);
      } finally {
        // The domain's files go with the ramfs: it goes first.
        await execa('virsh', ['-q', '-c', TEST_URI, 'undefine', '--domain', dom, '--snapshots-metadata'], { reject: false });
      }
    });
  });
});

describe('a folder whose file system keeps no permissions or takes no hard links (FAT, exFAT)', () => {
  test('the temporary file, found not private, goes again at once, and the folder is refused saying why', async () => {
    const dir = await mkdtemp(join(mounts, 'fat-'));
    const part = partFileOf(join(dir, 'copy.qcow2'), '7d3c1a52-3f7e-4f0a-9a55-0d7f6f1f2b10');
    // As exFAT's driver does: the file is made, with the mode the file system keeps for every file.
    const fat: HostFiles = { ...localHostFiles, createEmpty: async (path) => (await localHostFiles.createEmpty(path), chmod(path, 0o755)) };
    await expect(makePart(part, fat)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/keeps no file permissions .*755.*Choose a folder on another file system/) });
    expect(await readdir(dir)).toEqual([]);
  });

  test('a file system that refuses the hard link is named as the cause, not as an internal error', async () => {
    const dir = await mkdtemp(join(mounts, 'nolink-'));
    const part = partFileOf(join(dir, 'copy.qcow2'), '7d3c1a52-3f7e-4f0a-9a55-0d7f6f1f2b10');
    await makePart(part, localHostFiles);
    const refused = Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
    const noLinks: HostFiles = { ...localHostFiles, link: () => Promise.reject(refused) };
    await expect(placePart(part, join(dir, 'copy.qcow2'), noLinks)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/takes no hard links \(EPERM\)/) });
    // The undo removes the temporary file, private as it was made.
    await removePart(part, null, localHostFiles);
    expect(await readdir(dir)).toEqual([]);
  });
});
